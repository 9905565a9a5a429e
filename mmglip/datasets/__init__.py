"""Datasets: ODinW (checked COCO) dataset, prompt transform, converters,
validation and k-shot sampling."""
from .converters import (ConversionError, ConversionResult, convert,
                         convert_roboflow_coco, convert_voc, convert_yolo)
from .fewshot import (FewShotWarning, prepare_fewshot_split,
                      prepare_fewshot_splits, sample_fewshot)
from .odinw import (ODINW13_TASKS, ODinWDataset, ODinWDataWarning,
                    apply_fewshot, configure_odinw, odinw_config_path)
from .prompts import apply_class_overrides, normalize_caption_prompt
from .transforms import AddCaptionPrompt
from .validation import (DataIssue, ODinWDataError, ValidationReport,
                         load_and_validate, validate_coco)

__all__ = [
    'ODinWDataset', 'ODinWDataWarning', 'ODINW13_TASKS', 'configure_odinw',
    'apply_fewshot', 'odinw_config_path', 'AddCaptionPrompt',
    'normalize_caption_prompt', 'apply_class_overrides', 'convert',
    'convert_voc', 'convert_yolo', 'convert_roboflow_coco',
    'ConversionError', 'ConversionResult', 'validate_coco',
    'load_and_validate', 'ValidationReport', 'DataIssue', 'ODinWDataError',
    'FewShotWarning', 'sample_fewshot', 'prepare_fewshot_split',
    'prepare_fewshot_splits'
]
