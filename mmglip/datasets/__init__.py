"""Datasets: ODinW (checked COCO) dataset, prompt transform, load-time
validation and k-shot sampling. (The converters to the ODinW layout are
offline tooling: tools/dataset_converters/odinw_formats.)"""
from .flickr30k import Flickr30kDataError, Flickr30kDataset
from .grounding import (GroundingDataError, GroundingDataset,
                        GroundingDataWarning)
from .kshot import (FewShotWarning, prepare_fewshot_split,
                    prepare_fewshot_splits, sample_fewshot)
from .odinw import (ODinWConfigError, ODinWDataset, ODinWDataWarning,
                    odinw_config_path, odinw_split_files)
from ..text import apply_class_overrides, normalize_caption_prompt
from .lvis import LVISDataError, LVISV1Dataset
from .od_to_grounding import (DetectionDataError, DetectionToGrounding,
                              DroppedPositivesWarning)
from .samplers import MixtureConfigError, MixtureSampler
from .transforms import AddCaptionPrompt
from .validation import (DataIssue, ODinWDataError, ValidationReport,
                         load_and_validate, validate_coco)

__all__ = [
    'ODinWDataset', 'ODinWDataWarning', 'ODinWConfigError',
    'odinw_config_path', 'odinw_split_files', 'AddCaptionPrompt',
    'normalize_caption_prompt', 'apply_class_overrides', 'validate_coco',
    'load_and_validate', 'ValidationReport', 'DataIssue', 'ODinWDataError',
    'FewShotWarning', 'sample_fewshot', 'prepare_fewshot_split',
    'prepare_fewshot_splits', 'LVISV1Dataset', 'LVISDataError',
    'Flickr30kDataset', 'Flickr30kDataError', 'MixtureSampler',
    'MixtureConfigError', 'DetectionToGrounding', 'DetectionDataError',
    'DroppedPositivesWarning', 'GroundingDataset', 'GroundingDataError',
    'GroundingDataWarning'
]
