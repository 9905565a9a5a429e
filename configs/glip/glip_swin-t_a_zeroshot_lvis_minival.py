# GLIP-T (A) zero-shot on LVIS v1 minival: the model of
# glip_swin-t_a_zeroshot_coco.py (no deep fusion), LVIS set-up of
# glip_swin-t_c_zeroshot_lvis_minival.py. Published minival AP 18.5
# (APr 14.2, APc 13.9, APf 23.4). Weights: glip_a_tiny_o365.pth.
_base_ = './glip_swin-t_c_zeroshot_lvis_minival.py'
model = dict(fusion_neck=dict(early_fuse=False))
