# ODinW task "thermalDogsAndPeople" (GLIP-REFERENCE section 2): 2 classes,
# train/val/test images 142/41/20.
_base_ = './_base_odinw.py'

task = dict(
    name='thermalDogsAndPeople',
    root='thermalDogsAndPeople/',
    classes=('dog', 'person'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
