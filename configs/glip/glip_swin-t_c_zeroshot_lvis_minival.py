# GLIP-T (C) zero-shot on LVIS v1 minival (MDETR's 5k images): the model of
# glip_swin-t_c_zeroshot_coco.py, all 1203 class names as prompts of 40
# classes each (official TEST.CHUNKED_EVALUATION 40), 300 detections per
# image, Fixed AP. Published minival AP 24.9 (APr 17.7, APc 19.5, APf 31.0).
# Weights: glip_tiny_model_o365_goldg.pth (see model_zoo.md).
_base_ = [
    '../_base_/models/glip_swin-t.py', '../_base_/datasets/lvis_v1_minival.py',
    '../_base_/default_runtime.py'
]
model = dict(chunk_size=40, test_cfg=dict(max_per_img=300))
