# ODinW task "Aquarium" (GLIP-REFERENCE section 2): 7 classes,
# train/val/test images 448/127/63.
_base_ = './_base_odinw.py'

task = dict(
    name='Aquarium',
    root='Aquarium/Aquarium Combined.v2-raw-1024.coco/',
    classes=(
        'fish', 'jellyfish', 'penguin', 'puffin', 'shark', 'starfish',
        'stingray'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
