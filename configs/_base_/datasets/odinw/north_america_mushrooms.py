# ODinW task "NorthAmericaMushrooms" (GLIP-REFERENCE section 2): 2 classes,
# train/val/test images 41/5/5.
_base_ = './_base_odinw.py'

task = dict(
    name='NorthAmericaMushrooms',
    root='NorthAmericaMushrooms/North American Mushrooms.v1-416x416.coco/',
    classes=('CoW', 'chanterelle'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
