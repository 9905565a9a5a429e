# Pretrain GLIP-T (C) from Swin-T (ImageNet) + BERT: Objects365 + GoldG
# (Flickr30k Entities + mixed GQA/VG captions), the official
# glip_Swin_T_O365_GoldG.yaml: 30 epochs at batch 64 (e.g. 32 GPUs x 2),
#   tools/dist_train.sh $THIS_CONFIG 8 --auto-scale-lr   # on one 8-GPU node
# Swin-T ImageNet weights: model.backbone.init_cfg.checkpoint (a local file
# a URL or a hub file hf://OWNER/REPO/FILE; the official
# swin_tiny_patch4_window7_224.pth of microsoft/Swin-
# Transformer's releases), e.g. --cfg-options
# model.backbone.init_cfg.checkpoint=/data/swin_tiny_patch4_window7_224.pth
_base_ = [
    '../../_base_/models/glip_swin-t.py',
    '../../_base_/datasets/pretrain/pretrain_data.py',
    '../../_base_/datasets/pretrain/objects365.py',
    '../../_base_/datasets/pretrain/goldg.py',
    '../../_base_/schedules/glip_pretrain.py',
    '../../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        convert_weights=True,  # the official Swin layout -> mmdet's
        init_cfg=dict(
            type='Pretrained',
            checkpoint='data/pretrained/swin_tiny_patch4_window7_224.pth')),
    # activation memory: gradient checkpointing of the fusion tower, as
    # the official USE_CHECKPOINT, and of the X-MHA maps head by head
    # (same loss and gradients)
    fusion_neck=dict(use_checkpoint=True,
                     attn_cfg=dict(checkpoint_heads=True)))

# the mixture: each part once per epoch
train_dataloader = dict(
    sampler=dict(weights=[1.0, 1.0, 1.0]),
    dataset=dict(datasets=[
        dict(**_base_.objects365_train, **_base_.detection_part),
        dict(**_base_.mixed_train_no_coco, **_base_.grounding_part),
        dict(**_base_.flickr30k_train, **_base_.grounding_part)
    ]))
