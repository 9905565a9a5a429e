# ODinW task "AerialMaritimeDrone" (GLIP-REFERENCE section 2): 5 classes,
# train/val/test images 52/15/7.
_base_ = './_base_odinw.py'

task = dict(
    name='AerialMaritimeDrone',
    root='AerialMaritimeDrone/large/',
    classes=('boat', 'car', 'dock', 'jetski', 'lift'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
