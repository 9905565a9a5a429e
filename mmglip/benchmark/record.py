"""The record of a benchmark work dir (``WORK/benchmark.json``): what its
results were made with, by content (see :mod:`mmglip.benchmark.fewshot`),
and how another configuration differs from it, in words.

Light to import (no torch or mmdet at module level).
"""
import hashlib
import json
from typing import Any, Dict, List, Optional

#: version of ``benchmark.json``; other versions are refused
RECORD_FORMAT = 2
#: keys of ``benchmark.json`` that must match for a work dir to be reused
#: (tasks are compared one by one)
COMPARED_KEYS = ('weights_sha256', 'model_config_sha256', 'schedule_sha256',
                 'cfg_options')


# ------------------------------------------------------------ fingerprints
def _canonical(value: Any) -> Any:
    """``value`` as JSON-able data that is the same whenever the value is
    the same: dict keys as text (non-text keys by ``repr``), tuples as
    lists, functions and classes by their dotted name, other objects by
    ``repr``."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else repr(k)): _canonical(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, type) or callable(value):
        return (f'{getattr(value, "__module__", "?")}.'
                f'{getattr(value, "__qualname__", repr(value))}')
    return repr(value)


def config_digest(cfg) -> str:
    """SHA-256 (hex) of a config's resolved content: the merged dict of
    ``Config.fromfile`` (``_base_`` files included, comments and layout
    not), dumped as sorted JSON. ``cfg``: a path or a ``Config``."""
    from mmengine.config import Config
    if isinstance(cfg, str):
        cfg = Config.fromfile(cfg)
    text = json.dumps(_canonical(cfg.to_dict()), sort_keys=True,
                      separators=(',', ':'), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _short(digest: Optional[str]) -> str:
    return 'none' if digest is None else digest[:12]


def global_differences(theirs: Dict, mine: Dict) -> List[str]:
    """How the record's weights, model config, schedule and options
    differ from this configuration's, one text per key."""
    parts = []
    for key in COMPARED_KEYS:
        old, new = theirs.get(key), mine[key]
        if old == new:
            continue
        if key == 'cfg_options':
            parts.append(f'cfg_options {old} (recorded) vs {new} (now)')
        else:
            what = key[:-len('_sha256')]
            parts.append(
                f'{what}: sha256 {_short(old)} recorded (from '
                f'{theirs.get(what)}), {_short(new)} now (from '
                f'{mine[what]})')
    return parts


def task_difference(name: str, old: Dict, entry: Dict) -> str:
    """How a task's recorded dataset config differs, as one text."""
    root = (f', data root {entry["data_root"]}'
            if entry['data_root'] else '')
    return (f'task {name!r}: its dataset config {entry["config"]} '
            f'(resolved content{root}) differs from the recorded one '
            f'({old.get("config")}'
            + (f', data root {old["data_root"]}'
               if old.get('data_root') else '') + ')')


__all__ = ['COMPARED_KEYS', 'RECORD_FORMAT', 'config_digest',
           'global_differences', 'task_difference']
