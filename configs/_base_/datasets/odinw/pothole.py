# ODinW task "pothole" (GLIP-REFERENCE section 2): 1 class,
# train/val/test images 465/133/67.
_base_ = './_base_odinw.py'

task = dict(
    name='pothole',
    root='pothole/',
    classes=('pothole', ))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
