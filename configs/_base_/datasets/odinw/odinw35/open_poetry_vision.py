# ODinW-35 task 'openPoetryVision', as the official
# configs/odinw_35/openPoetryVision_512x512.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='openPoetryVision',
    root='openPoetryVision/512x512/',
    classes=(
        'American Typewriter', 'Andale Mono', 'Apple Chancery', 'Arial',
        'Avenir', 'Baskerville', 'Big Caslon', 'Bradley Hand',
        'Brush Script MT', 'Chalkboard', 'Comic Sans MS', 'Copperplate',
        'Courier', 'Didot', 'Futura', 'Geneva', 'Georgia', 'Gill Sans',
        'Helvetica', 'Herculanum', 'Impact', 'Kefa', 'Lucida Grande',
        'Luminari', 'Marker Felt', 'Menlo', 'Monaco', 'Noteworthy', 'Optima',
        'PT Sans', 'PT Serif', 'Palatino', 'Papyrus', 'Phosphate', 'Rockwell',
        'SF Pro', 'SignPainter', 'Skia', 'Snell Roundhand', 'Tahoma',
        'Times New Roman', 'Trebuchet MS', 'Verdana'),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
