from .vl_fusion_neck import FusionBlock, VLFusionNeck

__all__ = ['FusionBlock', 'VLFusionNeck']
