# ODinW task "pistols" (GLIP-REFERENCE section 2): 1 class,
# train/val/test images 2377/297/297.
_base_ = './_base_odinw.py'

task = dict(
    name='pistols',
    root='pistols/export/',
    classes=('pistol', ),
    val_split='val',
    # one image folder: export/{train,val,test}_annotations_... beside it
    one_folder=True)
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
