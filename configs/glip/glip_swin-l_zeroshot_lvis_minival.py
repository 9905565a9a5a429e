# GLIP-L zero-shot on LVIS v1 minival: the model of
# glip_swin-l_zeroshot_coco.py (Swin-L, 8 fusion blocks). Published minival
# AP 37.3 (APr 28.2, APc 34.3, APf 41.5). Weights: glip_large_model.pth.
_base_ = './glip_swin-t_c_zeroshot_lvis_minival.py'
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
