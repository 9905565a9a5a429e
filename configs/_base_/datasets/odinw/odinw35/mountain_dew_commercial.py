# ODinW-35 task 'MountainDewCommercial', as the official
# configs/odinw_35/MountainDewCommercial.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='MountainDewCommercial',
    root='MountainDewCommercial/',
    classes=('bottle', ))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
