# ODinW-35 task 'HardHatWorkers', as the official
# configs/odinw_35/HardHatWorkers_raw.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='HardHatWorkers',
    root='HardHatWorkers/raw/',
    classes=('head', 'helmet', 'person'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
