# ODinW-35 task 'AerialMaritimeDrone_large', as the official
# configs/odinw_35/AerialMaritimeDrone_large.yaml
_base_ = '../aerial_maritime_drone.py'

task = dict(
    name='AerialMaritimeDrone_large')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
