# Pretrain GLIP-L from Swin-L (ImageNet-22k, 384) + BERT on the four
# detection sets and GoldG with the official repeat factors (microsoft/GLIP
# configs/pretrain/glip_Swin_L.yaml: Flickr30k x8, GoldG mixed x4,
# Objects365 x2, Visual Genome x3, ImageNet-Boxes x2, OpenImages x1),
# 1M iterations at batch 64, weight decay 0.01 lowered x0.1 at 2/3 of each
# lr step as the official WEIGHT_DECAY_SCHEDULE. The paper's GLIP-L also saw
# CC3M / CC12M / SBU captions pseudo-labelled by a teacher; those labels
# were never released, so they are not part of this mixture.
#   tools/dist_train.sh $THIS_CONFIG 8 --auto-scale-lr   # per node
# Swin-L weights: model.backbone.init_cfg.checkpoint (a local file, a URL
# or a hub file hf://OWNER/REPO/FILE).
_base_ = [
    '../../_base_/models/glip_swin-l.py',
    '../../_base_/datasets/pretrain/pretrain_data.py',
    '../../_base_/datasets/pretrain/objects365.py',
    '../../_base_/datasets/pretrain/fourods.py',
    '../../_base_/datasets/pretrain/goldg.py',
    '../../_base_/schedules/glip_pretrain.py',
    '../../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        convert_weights=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='data/pretrained/'
            'swin_large_patch4_window12_384_22k.pth')),
    fusion_neck=dict(use_checkpoint=True,
                     attn_cfg=dict(checkpoint_heads=True)))

train_dataloader = dict(
    sampler=dict(weights=[2.0, 1.0, 3.0, 2.0, 4.0, 8.0]),
    dataset=dict(datasets=[
        dict(**_base_.objects365_train, **_base_.detection_part),
        dict(**_base_.openimages_train, **_base_.detection_part),
        dict(**_base_.vg_train, **_base_.detection_part),
        dict(**_base_.imagenet_boxes_train, **_base_.detection_part),
        dict(**_base_.mixed_train_no_coco, **_base_.grounding_part),
        dict(**_base_.flickr30k_train, **_base_.grounding_part)
    ]))

max_iters = 1000000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(weight_decay=0.01))
# lr x0.1 at 67 % and 89 %; weight decay x0.1 at 0.667 x each lr step
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=2000),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[670000, 890000], gamma=0.1),
    dict(type='MultiStepParamScheduler', param_name='weight_decay',
         by_epoch=False, begin=0, end=max_iters,
         milestones=[446890, 593630], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=20000))
log_processor = dict(by_epoch=False)
