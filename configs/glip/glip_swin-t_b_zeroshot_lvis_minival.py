# GLIP-T (B) zero-shot on LVIS v1 minival: the GLIP-T (C) architecture
# pretrained on O365 only. Published minival AP 17.8 (APr 13.5, APc 12.8,
# APf 22.2). Weights: glip_tiny_model_o365.pth.
_base_ = './glip_swin-t_c_zeroshot_lvis_minival.py'
