# GLIP-L phrase grounding on Flickr30k Entities test: the model of
# glip_swin-l_zeroshot_coco.py (Swin-L, 8 fusion blocks).
# Weights: glip_large_model.pth.
_base_ = './glip_swin-t_c_flickr30k.py'
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
