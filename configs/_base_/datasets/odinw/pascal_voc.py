# ODinW task "PascalVOC" (GLIP-REFERENCE section 2): 20 classes,
# train/val/test images 13690/3422/- (no test split: test = valid).
_base_ = './_base_odinw.py'

task = dict(
    name='PascalVOC',
    root='PascalVOC/',
    classes=(
        'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
        'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
        'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor'),
    test_split='valid')  # no test split
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
