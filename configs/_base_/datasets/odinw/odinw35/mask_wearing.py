# ODinW-35 task 'MaskWearing', as the official
# configs/odinw_35/MaskWearing_raw.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='MaskWearing',
    root='MaskWearing/raw/',
    classes=('mask', 'no-mask'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
