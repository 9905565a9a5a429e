# Official GLIP ODinW tuning schedule (GLIP-REFERENCE section 2): batch 4,
# AdamW lr 1e-4 (language model 1e-5), weight decay 0.05, up to 200 epochs,
# evaluate every epoch, lr x0.1 after 3 evaluations without gain, stop after
# 8, keep the best checkpoint (tools/benchmark_fewshot.py tests it). The
# dataset repeat per shot (1-shot x8, 3 x4, 5 x2, 10 x1) and AMP on GPUs are
# applied by the benchmark tool. Prompt tuning: lr 0.05, weight decay 0.25.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200, val_interval=1)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={'language_model': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='coco/bbox_mAP', rule='greater',
         factor=0.1, patience=3, by_epoch=True)
]
custom_hooks = [
    dict(type='EarlyStoppingHook', monitor='coco/bbox_mAP', rule='greater',
         min_delta=1e-4, patience=8)
]
default_hooks = dict(
    checkpoint=dict(type='mmdet.CheckpointHook', interval=1,
                    max_keep_ckpts=1, save_best='coco/bbox_mAP',
                    rule='greater'))

# tools/benchmark_fewshot.py reads these
fewshot_repeats = {1: 8, 3: 4, 5: 2, 10: 1}
prompt_tuning_optimizer = dict(lr=0.05, weight_decay=0.25)
train_batch_size = 4
