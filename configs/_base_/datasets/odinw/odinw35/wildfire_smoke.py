# ODinW-35 task 'WildfireSmoke', as the official
# configs/odinw_35/WildfireSmoke.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='WildfireSmoke',
    root='WildfireSmoke/',
    classes=('smoke', ))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
