# ODinW-35 task 'selfdrivingCar', as the official
# configs/odinw_35/selfdrivingCar_fixedLarge_export_.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='selfdrivingCar',
    root='selfdrivingCar/fixedLarge/export/',
    classes=(
        'biker', 'car', 'pedestrian', 'trafficLight', 'trafficLight-Green',
        'trafficLight-GreenLeft', 'trafficLight-Red', 'trafficLight-RedLeft',
        'trafficLight-Yellow', 'trafficLight-YellowLeft', 'truck'),
    val_split='val',
    one_folder=True)
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
