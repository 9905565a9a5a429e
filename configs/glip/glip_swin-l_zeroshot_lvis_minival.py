# GLIP-L zero-shot on LVIS v1 minival: the model of
# glip_swin-l_zeroshot_coco.py (Swin-L, 8 fusion blocks). Published minival
# AP 37.3 (APr 28.2, APc 34.3, APf 41.5). Weights: glip_large_model.pth.
_base_ = [
    '../_base_/models/glip_swin-l.py', '../_base_/datasets/lvis_v1_minival.py',
    '../_base_/default_runtime.py'
]
model = dict(chunk_size=40, test_cfg=dict(max_per_img=300))
