# ODinW task "Raccoon" (GLIP-REFERENCE section 2): 1 class,
# train/val/test images 150/29/17.
_base_ = './_base_odinw.py'

task = dict(
    name='Raccoon',
    root='Raccoon/Raccoon.v2-raw.coco/',
    classes=('raccoon', ))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
