default_scope = 'mmglip'

# evaluation loops (training loops come with a schedule)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    timer=dict(type='mmdet.IterTimerHook'),
    logger=dict(type='mmdet.LoggerHook', interval=50),
    param_scheduler=dict(type='mmdet.ParamSchedulerHook'),
    checkpoint=dict(type='mmdet.CheckpointHook', interval=1),
    sampler_seed=dict(type='mmdet.DistSamplerSeedHook'),
    visualization=dict(type='mmdet.DetVisualizationHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='mmdet.LocalVisBackend')]
visualizer = dict(
    type='mmdet.DetLocalVisualizer', vis_backends=vis_backends,
    name='visualizer')
log_processor = dict(type='mmdet.LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
