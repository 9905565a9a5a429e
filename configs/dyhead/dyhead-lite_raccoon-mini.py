# dyhead-lite: glip-lite's visual tower (EfficientNet-Lite0 + FPN + its
# DyHead blocks) with mmdet's closed-set ATSS head of the task's classes
# (see ../_base_/models/dyhead_lite.py), trained briefly on the embedded
# Raccoon subset: the CPU baseline beside glip-lite in the main job
# (demo/main.py). Same data and schedule as
# ../glip_lite/glip-lite_raccoon-mini.py; no language model.
_base_ = [
    '../_base_/models/dyhead_lite.py', '../_base_/datasets/raccoon_mini.py',
    '../_base_/default_runtime.py'
]
model = dict(bbox_head=dict(num_classes=1), test_cfg=dict(score_thr=0.01))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)
]
default_hooks = dict(
    logger=dict(interval=2),
    checkpoint=dict(interval=4, max_keep_ckpts=2))
log_processor = dict(window_size=2)
randomness = dict(seed=0)
