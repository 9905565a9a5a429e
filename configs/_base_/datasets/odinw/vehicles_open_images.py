# ODinW task "VehiclesOpenImages" (GLIP-REFERENCE section 2): 5 classes,
# train/val/test images 878/250/126 (evaluated on mini_val).
_base_ = './_base_odinw.py'

task = dict(
    name='VehiclesOpenImages',
    root='VehiclesOpenImages/416x416/',
    classes=('Ambulance', 'Bus', 'Car', 'Motorcycle', 'Truck'),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
