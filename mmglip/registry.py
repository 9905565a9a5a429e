"""mmglip's MMEngine registries.

Each registry has mmdet's as parent, so configs with ``default_scope='mmglip'``
resolve mmglip's own modules first and fall back to mmdet / mmengine ones
(``type='SwinTransformer'``, ``type='mmdet.PackDetInputs'``). ``locations``
lets the registries import their modules on first use, so configs never need
``custom_imports``.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmengine.registry import Registry

# detectors, backbones, necks, heads, language models, losses
MODELS = Registry('model', parent=MMDET_MODELS, locations=['mmglip.models'])
# assigners, box coders, prior generators
TASK_UTILS = Registry(
    'task util', parent=MMDET_TASK_UTILS, locations=['mmglip.models'])
# datasets
DATASETS = Registry(
    'dataset', parent=MMDET_DATASETS, locations=['mmglip.datasets'])
# data samplers (the mixture sampler of pretraining)
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMDET_DATA_SAMPLERS,
    locations=['mmglip.datasets'])
# data pipeline transforms
TRANSFORMS = Registry(
    'transform', parent=MMDET_TRANSFORMS, locations=['mmglip.datasets'])
# evaluation metrics
METRICS = Registry(
    'metric', parent=MMDET_METRICS, locations=['mmglip.evaluation'])
# runner hooks
HOOKS = Registry('hook', parent=MMDET_HOOKS)
# visualizers
VISUALIZERS = Registry('visualizer', parent=MMDET_VISUALIZERS)
