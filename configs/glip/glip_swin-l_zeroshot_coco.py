# GLIP-L: Swin-L (window 12), 8 fusion blocks; FourODs, GoldG, CC3M+12M, SBU.
# Weights: glip_large_model.pth.
_base_ = [
    '../_base_/models/glip_swin-l.py', '../_base_/datasets/coco_detection.py',
    '../_base_/default_runtime.py'
]
