# glip-lite fine-tuned briefly on the embedded Raccoon subset (CPU demo).
_base_ = [
    '../_base_/models/glip_lite.py', '../_base_/datasets/raccoon_mini.py',
    '../_base_/default_runtime.py'
]
model = dict(test_cfg=dict(score_thr=0.01))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(custom_keys={'language_model': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)
]
default_hooks = dict(
    logger=dict(interval=2),
    checkpoint=dict(interval=4, max_keep_ckpts=2))
log_processor = dict(window_size=2)
randomness = dict(seed=0)
