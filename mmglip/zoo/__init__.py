"""The model zoo: which models exist (:mod:`.index`, ``model-index.yml``)
and how their files are had: verified downloads from the Hugging Face Hub
or a plain mirror (:mod:`.hub`, :mod:`.sources`). What a checkpoint holds
and how it gets into a model is :mod:`mmglip.weights`; the ODinW datasets,
fetched through :mod:`.hub`, are placed by
:mod:`mmglip.datasets.odinw_download`.

Names are imported on first use; reading the index or downloading imports
neither torch nor mmdet.
"""
import importlib

_EXPORTS = {
    'ModelIndex': 'index',
    'ZooEntry': 'index',
    'UnknownModelError': 'index',
    'get_entry': 'index',
    'load_index': 'index',
    'SCHEME': 'hub',
    'ZooError': 'hub',
    'fetch_file': 'hub',
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
