"""The model zoo: official checkpoint conversion (:mod:`.official`), the
model index (:mod:`.index`) and the downloader (:mod:`.download`).

Names are imported on first use, so that reading the index or downloading
does not import torch / mmdet (conversion does).
"""
import importlib

_EXPORTS = {
    'CheckpointMismatchError': 'official',
    'LoadReport': 'official',
    'extract_state_dict': 'official',
    'is_official': 'official',
    'load_into_model': 'official',
    'load_official': 'official',
    'mmglip_to_official': 'official',
    'official_to_mmglip': 'official',
    'ModelIndex': 'index',
    'ZooEntry': 'index',
    'UnknownModelError': 'index',
    'get_entry': 'index',
    'load_index': 'index',
    'ChecksumMismatchError': 'download',
    'DownloadError': 'download',
    'ZooError': 'download',
    'fetch': 'download',
    'resolve_weights': 'download',
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
