from .dyhead_neck import DyHeadNeck
from .vl_fusion_neck import FusionBlock, VLFusionNeck

__all__ = ['DyHeadNeck', 'FusionBlock', 'VLFusionNeck']
