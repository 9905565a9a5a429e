# Official GLIP COCO fine-tuning (microsoft/GLIP README): 24 epochs,
# batch 32 (16 GPUs x 2), AdamW, lr 1e-5 for all parts incl. the language
# model, weight decay 1e-4, lr x0.1 at 67 % and 89 % of training, 2000
# warm-up iterations from 0.001, gradient clipping (L2 norm 1.0), AMP.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=24, val_interval=1)

optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-5, betas=(0.9, 0.999),
                   weight_decay=1e-4),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(
        custom_keys={
            'language_model': dict(lr_mult=1.0),
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
        }))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=2000),
    dict(type='MultiStepLR', begin=0, end=24, by_epoch=True,
         milestones=[16, 21], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=32)
