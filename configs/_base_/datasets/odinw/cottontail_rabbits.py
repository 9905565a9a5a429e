# ODinW task "CottontailRabbits" (GLIP-REFERENCE section 2): 1 class,
# train/val/test images 1980/19/10.
_base_ = './_base_odinw.py'

task = dict(
    name='CottontailRabbits',
    root='CottontailRabbits/',
    classes=('Cottontail-Rabbit', ))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
