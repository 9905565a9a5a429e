# ODinW-35 task 'dice', as the official
# configs/odinw_35/dice_mediumColor_export.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='dice',
    root='dice/mediumColor/export/',
    classes=('1', '2', '3', '4', '5', '6'),
    val_split='val',
    one_folder=True)
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
