"""Metrics registered in mmglip (importing this registers them)."""
from .coco_metric import DatasetCocoMetric
from .flickr30k_metric import Flickr30kMetric
from .lvis_metric import LVISFixedAPMetric, numpy_float_alias

__all__ = ['DatasetCocoMetric', 'LVISFixedAPMetric', 'numpy_float_alias',
           'Flickr30kMetric']
