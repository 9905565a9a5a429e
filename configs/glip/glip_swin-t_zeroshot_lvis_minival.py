# GLIP-T zero-shot on LVIS v1 minival: the GLIP-T (C) architecture pretrained
# on O365, GoldG, CC3M, SBU. Published minival AP 26.0 (APr 20.8, APc 21.4,
# APf 31.0; the paper's model table: 25.9 / APr 20.1).
# Weights: glip_tiny_model_o365_goldg_cc_sbu.pth.
_base_ = './glip_swin-t_c_zeroshot_lvis_minival.py'
