# ODinW-35 task 'PKLot', as the official
# configs/odinw_35/PKLot_640.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='PKLot',
    root='PKLot/640/',
    classes=('space-empty', 'space-occupied'),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
