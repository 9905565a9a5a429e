# GLIP-T (A): Swin-T, no deep fusion (DyHead only), pretrained on O365.
# Weights: glip_a_tiny_o365.pth.
_base_ = './glip_swin-t_c_zeroshot_coco.py'
model = dict(fusion_neck=dict(early_fuse=False))
