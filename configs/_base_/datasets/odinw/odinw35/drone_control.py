# ODinW-35 task 'DroneControl', as the official
# configs/odinw_35/DroneControl_Drone_Control.v3-raw.coco.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='DroneControl',
    root='DroneControl/Drone Control.v3-raw.coco/',
    classes=(
        'follow', 'follow_hand', 'land', 'land_hand', 'null', 'object',
        'takeoff', 'takeoff-hand'),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
