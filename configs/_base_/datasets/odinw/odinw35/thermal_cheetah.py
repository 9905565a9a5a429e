# ODinW-35 task 'ThermalCheetah', as the official
# configs/odinw_35/ThermalCheetah.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='ThermalCheetah',
    root='ThermalCheetah/',
    classes=('cheetah', 'human'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
