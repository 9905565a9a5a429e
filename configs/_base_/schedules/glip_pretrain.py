# Official GLIP-T pretraining schedule (microsoft/GLIP configs/pretrain/
# glip_Swin_T_O365_GoldG.yaml, glip_A_Swin_T_O365.yaml): 30 epochs at batch
# 64, AdamW lr 1e-4 (language model 1e-5), weight decay 1e-4, 2000 warm-up
# iterations from 0.001, lr x0.1 at 67 % and 89 % of training, gradient
# clipping (L2 norm 1.0), AMP, EMA of the weights (0.999).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=30)

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=1e-4),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(custom_keys={'language_model': dict(lr_mult=0.1)}))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=2000),
    dict(type='MultiStepLR', begin=0, end=30, by_epoch=True,
         milestones=[20, 27], gamma=0.1)
]
# ema = 0.999 * ema + 0.001 * weights after every step; checkpoints hold
# both, evaluation uses the EMA weights
custom_hooks = [
    dict(type='EMAHook', ema_type='ExponentialMovingAverage',
         momentum=0.001, update_buffers=True, priority=49)
]
# --auto-scale-lr: lr x (GPUs x batch per GPU) / 64
auto_scale_lr = dict(enable=False, base_batch_size=64)
# every parameter gets a gradient each step (DDP need not search)
find_unused_parameters = False
