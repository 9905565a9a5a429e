"""mmglip's MMEngine registries.

Each registry has mmdet's as parent, so configs with ``default_scope='mmglip'``
resolve mmglip's own modules first and fall back to mmdet / mmengine ones
(``type='SwinTransformer'``, ``type='mmdet.PackDetInputs'``). ``locations``
lets the registries import their modules on first use, so configs never need
``custom_imports``.

Every registry mmdet has gets an mmglip child here, also those mmglip adds
nothing to (weight initializers, loops, optimizers, ...): mmengine builds
everything through the child whose scope is the default scope, and where
``mmglip`` has none it warns ('Failed to search registry with scope
"mmglip" ...') and falls back to its own root, skipping mmdet's.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOG_PROCESSORS as MMDET_LOG_PROCESSORS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS as \
    MMDET_OPTIM_WRAPPER_CONSTRUCTORS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNER_CONSTRUCTORS as MMDET_RUNNER_CONSTRUCTORS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.registry import WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
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

# mmdet's / mmengine's own, reached through mmglip's scope (see the module
# docstring): weight initializers (init_cfg), runners and loops, model
# wrappers, optimizers and schedulers, evaluators, log processors and
# visualisation backends
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMDET_WEIGHT_INITIALIZERS)
RUNNERS = Registry('runner', parent=MMDET_RUNNERS)
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMDET_RUNNER_CONSTRUCTORS)
LOOPS = Registry('loop', parent=MMDET_LOOPS)
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMDET_MODEL_WRAPPERS)
OPTIMIZERS = Registry('optimizer', parent=MMDET_OPTIMIZERS)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMDET_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer constructor', parent=MMDET_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMDET_PARAM_SCHEDULERS)
EVALUATOR = Registry('evaluator', parent=MMDET_EVALUATOR)
LOG_PROCESSORS = Registry('log_processor', parent=MMDET_LOG_PROCESSORS)
VISBACKENDS = Registry('vis_backend', parent=MMDET_VISBACKENDS)
