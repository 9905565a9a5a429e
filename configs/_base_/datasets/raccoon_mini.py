# The embedded demo data: 24 train / 8 valid / 8 test Raccoon images, an
# ODinW-layout task (demo/data/raccoon_mini, made by demo/make_demo_data.py)
# read with the ODinW task settings, sized for a CPU: smaller images, no
# worker processes, plain batches.
_base_ = './odinw/_base_odinw.py'

task = dict(name='raccoon_mini', root='raccoon_mini/', classes=('raccoon', ))
data_root = 'demo/data/'
img_scale = (384, 288)
# the GLIP pipelines with the images resized to at most 384 x 288
train_pipeline = [
    dict(step, scales=[(384, 256), (384, 272), img_scale])
    if step['type'] == 'mmdet.RandomChoiceResize' else step
    for step in _base_.train_pipeline
]
test_pipeline = [
    dict(step, scale=img_scale)
    if step['type'] == 'mmdet.FixScaleResize' else step
    for step in _base_.test_pipeline
]
cpu_loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    batch_sampler=None,
    dataset=dict(task=task, data_root=data_root, pipeline=train_pipeline),
    **cpu_loader)
val_dataloader = dict(
    dataset=dict(task=task, data_root=data_root, pipeline=test_pipeline),
    **cpu_loader)
test_dataloader = val_dataloader
