from .official import (CheckpointMismatchError, LoadReport, extract_state_dict,
                       is_official, load_into_model, load_official,
                       mmglip_to_official, official_to_mmglip)

__all__ = [
    'CheckpointMismatchError', 'LoadReport', 'extract_state_dict',
    'is_official', 'load_into_model', 'load_official', 'mmglip_to_official',
    'official_to_mmglip'
]
