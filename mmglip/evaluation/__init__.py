"""Metrics registered in mmglip (importing this registers them), and what
tools/test.py and tools/analysis/eval_metric.py add around them: the
``--out`` dump written first, a failing metric named in one line, the
ground truth checked against the images, progress in images."""
from .coco_metric import DatasetCocoMetric
from .dump import DumpFileError, DumpPredictions, load_dump
from .evaluator import MetricFailed, ReportingEvaluator
from .flickr30k_metric import Flickr30kMetric
from .ground_truth import (GroundTruthMismatch, check_images_covered,
                           dataset_images, dump_images, metric_images)
from .lvis_metric import LVISFixedAPMetric, numpy_float_alias
from .progress import EvalProgressHook

__all__ = ['DatasetCocoMetric', 'LVISFixedAPMetric', 'numpy_float_alias',
           'Flickr30kMetric', 'DumpPredictions', 'DumpFileError',
           'load_dump', 'ReportingEvaluator', 'MetricFailed',
           'GroundTruthMismatch', 'check_images_covered', 'dataset_images',
           'dump_images', 'metric_images', 'EvalProgressHook']
