# GLIP-T (B): the GLIP-T (C) architecture pretrained on O365 only.
# Weights: glip_tiny_model_o365.pth.
_base_ = './glip_swin-t_c_zeroshot_coco.py'
