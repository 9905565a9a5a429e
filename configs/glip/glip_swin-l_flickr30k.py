# GLIP-L phrase grounding on Flickr30k Entities test: the model of
# glip_swin-l_zeroshot_coco.py (Swin-L, 8 fusion blocks).
# Weights: glip_large_model.pth.
_base_ = [
    '../_base_/models/glip_swin-l.py', '../_base_/datasets/flickr30k_test.py',
    '../_base_/default_runtime.py'
]
