# ODinW task "EgoHands" (GLIP-REFERENCE section 2): 1 class,
# train/val/test images 3840/480/480 (evaluated on mini_val).
_base_ = './_base_odinw.py'

task = dict(
    name='EgoHands',
    root='EgoHands/generic/',
    classes=('hand', ),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
