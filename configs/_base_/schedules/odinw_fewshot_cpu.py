# A CPU-sized version of the ODinW schedule for the embedded default: a
# fixed 12 epochs, evaluation (and a checkpoint) every 3, the best checkpoint
# tested; same repeats by shot, AdamW (lr 1e-3: the glip-lite head starts
# from scratch) with the language model at 0.1x.
_base_ = './odinw_fewshot.py'
train_cfg = dict(max_epochs=12, val_interval=3)
optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    clip_grad=dict(_delete_=True, max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)
]
custom_hooks = []
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=3))
randomness = dict(seed=0)
