# GLIP-L: glip_swin-t.py with Swin-L (window 12, 384 pretraining size) and
# 8 fusion blocks (GLIP-REFERENCE section 3).
_base_ = './glip_swin-t.py'
model = dict(
    backbone=dict(
        embed_dims=192,
        depths=[2, 2, 18, 2],
        num_heads=[6, 12, 24, 48],
        window_size=12,
        pretrain_img_size=384,
        drop_path_rate=0.4),
    neck=dict(in_channels=[384, 768, 1536]),
    fusion_neck=dict(num_blocks=8))
