# ODinW task "Packages" (GLIP-REFERENCE section 2): 1 class,
# train/val/test images 19/4/3.
_base_ = './_base_odinw.py'

task = dict(
    name='Packages',
    root='Packages/Raw/',
    classes=('package', ))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
