# GLIP-T (C): Swin-T, deep fusion, pretrained on O365 + GoldG.
# Zero-shot COCO val2017 with the 80 class names as the prompt.
# Weights: glip_tiny_model_o365_goldg.pth (see model_zoo.md).
_base_ = [
    '../_base_/models/glip_swin-t.py', '../_base_/datasets/coco_detection.py',
    '../_base_/default_runtime.py'
]
