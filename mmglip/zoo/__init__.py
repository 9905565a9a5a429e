"""The model zoo: official checkpoint conversion as pure functions
(:mod:`.official`), the one weights path from a file or zoo name to a
model (:mod:`.weights`), the model index (:mod:`.index`) and verified
downloads from the Hugging Face Hub or a plain mirror (:mod:`.hub`). (The
ODinW datasets, fetched through :mod:`.hub`, are placed by
:mod:`mmglip.datasets.odinw_download`.)

Names are imported on first use, so that reading the index or downloading
does not import torch / mmdet (conversion does).
"""
import importlib

_EXPORTS = {
    'CheckpointMismatchError': 'official',
    'extract_state_dict': 'official',
    'is_official': 'official',
    'mmglip_to_official': 'official',
    'official_to_mmglip': 'official',
    'to_mmglip': 'official',
    'LoadReport': 'weights',
    'load_into_model': 'weights',
    'load_weights': 'weights',
    'state_dict_from': 'weights',
    'ModelIndex': 'index',
    'ZooEntry': 'index',
    'UnknownModelError': 'index',
    'get_entry': 'index',
    'load_index': 'index',
    'SCHEME': 'hub',
    'ZooError': 'hub',
    'fetch_file': 'hub',
    'fetch_weights': 'hub',
    'is_zoo_reference': 'hub',
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f'{__name__}.{_EXPORTS[name]}')
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
