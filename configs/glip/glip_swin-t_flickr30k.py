# GLIP-T phrase grounding on Flickr30k Entities test: the GLIP-T (C)
# architecture pretrained on O365, GoldG, CC3M, SBU.
# Weights: glip_tiny_model_o365_goldg_cc_sbu.pth.
_base_ = './glip_swin-t_c_flickr30k.py'
