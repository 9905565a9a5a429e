# ODinW task "ShellfishOpenImages" (GLIP-REFERENCE section 2): 3 classes,
# train/val/test images 406/116/58.
_base_ = './_base_odinw.py'

task = dict(
    name='ShellfishOpenImages',
    root='ShellfishOpenImages/raw/',
    classes=('Crab', 'Lobster', 'Shrimp'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
