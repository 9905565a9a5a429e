# ODinW-35 task 'AerialMaritimeDrone_tiled', as the official
# configs/odinw_35/AerialMaritimeDrone_tiled.yaml
_base_ = '../aerial_maritime_drone.py'

task = dict(
    name='AerialMaritimeDrone_tiled',
    root='AerialMaritimeDrone/tiled/')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
