"""The one way weights get into a GLIP model.

:func:`state_dict_from` turns any accepted source into an mmglip state dict
and a record of what it did:

* an official GLIP file: a full one (``model`` / ``model_ema`` entry,
  optimizer and scheduler dropped) or a bare state dict, converted by
  :func:`mmglip.weights.official.to_mmglip`;
* an mmglip / mmengine checkpoint (``state_dict`` entry or a bare state
  dict), including files written by ``tools/convert_official.py``;
* a zoo name (``glip-t_c``) or ``mmglip://glip-t_c``: the verified official
  file that :func:`mmglip.weights.fetch.fetch_weights` provides, then as above;
* a checkpoint dict already loaded.

``module.`` prefixes are stripped. :func:`load_weights` loads the result
into a model and returns a :class:`LoadReport`. Every way in goes through
here: ``init_model`` / ``load_weights`` (API), ``tools/infer.py --weights``,
``tools/test.py CHECKPOINT``, ``tools/convert_official.py`` (the converter)
and mmengine's loader (``load_from=`` / ``init_cfg``: ``mmglip://NAME``,
``hf://...`` and official files are converted at that door,
:mod:`mmglip.weights.schemes`). Models themselves take mmglip-layout
weights only.

Why by hand: mmengine's ``load_checkpoint`` takes ``state_dict`` or the
whole file and renames keys by regular expression only (official files need
:mod:`mmglip.weights.official`); with ``load_from`` it loads non-strictly, so a
file of another GLIP variant leaves a partly random model and warnings in
a log. Here another variant's file is refused naming both layouts, and
every missing, unexpected or mis-shaped key is listed.
"""
import os
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple, Union

import torch

from mmglip.utils.checkpoints import read_checkpoint
from mmglip.errors import UserError, check_file
from mmglip.weights.official import (DERIVED_BUFFERS,
                                     CheckpointMismatchError,
                                     MissingWeightsError, check_layout,
                                     is_official, record_layout,
                                     recorded_layout, to_mmglip)

#: a checkpoint as :func:`state_dict_from` takes it
Source = Union[str, os.PathLike, Mapping]


# ------------------------------------------------------------------ reading
def _zoo_names_hint() -> str:
    try:
        from mmglip.zoo.index import load_index
        return f' (zoo names: {", ".join(load_index().names)})'
    except Exception:  # noqa: BLE001 - the list is a hint only
        return ''


def resolve_source(source: str) -> Tuple[str, str]:
    """``(path of the file to read, label naming it in messages)``: an
    existing file as it is; a zoo name or ``mmglip://NAME`` through
    :func:`mmglip.weights.fetch.fetch_weights` (cached, or downloaded and
    verified).

    Raises:
        FileNotFoundError: neither a file nor a zoo name.
    """
    if osp.exists(source):
        return source, source
    from mmglip.zoo.hub import is_zoo_reference

    from .fetch import fetch_weights
    if is_zoo_reference(source):
        path = os.fspath(fetch_weights(source))
        return path, f'{source} ({path})'
    raise FileNotFoundError(
        f'{source}: no such file, nor a zoo name{_zoo_names_hint()}.')


def checkpoint_state_dict(checkpoint: Mapping, key: str = 'model',
                          source: str = 'the checkpoint'
                          ) -> Tuple[OrderedDict, Dict]:
    """The mmglip state dict of a loaded checkpoint and what was done.

    Official checkpoints go through :func:`mmglip.weights.official.to_mmglip`.
    mmglip / mmengine ones give their ``state_dict`` entry (or themselves,
    when bare). ``key`` picks ``model`` or ``model_ema`` weights; an mmengine
    checkpoint holds EMA weights only when saved with ``EMAHook`` (whose
    ``state_dict`` then holds the averaged weights, loaded for either key,
    as mmengine's ``load_from`` does).

    Returns:
        ``(state_dict, meta)``; ``meta`` as :func:`to_mmglip`'s (``layout``
        ``'mmglip'`` here, ``fusion`` / ``fusion_blocks`` when the file
        records them).

    Raises:
        MissingWeightsError: no ``key`` weights.
        UserError: no weights at all.
    """
    inner = checkpoint.get('state_dict')
    nested = isinstance(inner, Mapping)
    weights = inner if nested else checkpoint
    others = sorted(str(k) for k in checkpoint if k != 'state_dict') \
        if nested else []
    if is_official(checkpoint) or (nested and is_official(inner)):
        state_dict, meta = to_mmglip(
            checkpoint if is_official(checkpoint) else inner, key, source)
        meta['dropped'] = meta['dropped'] + others
        return state_dict, meta
    if key != 'model' and not (key == 'model_ema' and nested
                               and 'ema_state_dict' in checkpoint):
        raise MissingWeightsError(
            f'{source} has no '
            f'{"EMA" if key == "model_ema" else repr(key)} weights: '
            'it is an mmglip checkpoint with one set of weights (saved '
            'without EMAHook); load it as "model" instead.')
    if not any(isinstance(v, torch.Tensor) for v in weights.values()):
        entries = ', '.join(sorted(map(str, checkpoint))[:8]) or 'none'
        raise UserError(f'{source}: holds no model weights (its entries: '
                        f'{entries}).')
    state_dict = OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in weights.items())
    if getattr(weights, '_metadata', None) is not None:
        state_dict._metadata = OrderedDict(weights._metadata)
    layout = recorded_layout(weights)
    file_meta = checkpoint.get('meta') if nested else None
    if layout is None and isinstance(file_meta, Mapping) and \
            'fusion_blocks' in file_meta:  # tools/convert_official.py's
        layout = dict(fusion=file_meta['fusion'],
                      fusion_blocks=file_meta['fusion_blocks'])
        record_layout(state_dict, layout['fusion'], layout['fusion_blocks'])
    return state_dict, dict(
        layout='mmglip', weights_key='state_dict' if nested else None,
        ignored=[], unconverted=[], dropped=others, **(layout or {}))


def state_dict_from(source: Source, key: str = 'model'
                    ) -> Tuple[OrderedDict, Dict]:
    """The mmglip state dict of any accepted source (see the module doc)
    and what was done.

    Files are read with :func:`mmglip.utils.checkpoints.read_checkpoint`,
    memory-mapped where the format allows (a 6.9 GB GLIP-L file is mostly
    optimizer state that is never read).

    Returns:
        ``(state_dict, meta)``: ``meta`` as :func:`checkpoint_state_dict`'s,
        plus ``source`` (as given), ``path`` (the file read) and ``label``
        (names it in reports).

    Raises:
        FileNotFoundError: neither a file nor a zoo name.
        UserError: an unreadable file (JSON, truncated, a folder), one
            without weights, or without the ``key`` weights; one line naming
            the file.
    """
    if isinstance(source, Mapping):
        state_dict, meta = checkpoint_state_dict(source, key)
        return state_dict, dict(meta, source=None, path=None,
                                label='the checkpoint')
    text = os.fspath(source)
    path, label = resolve_source(text)
    state_dict, meta = checkpoint_state_dict(read_checkpoint(path, mmap=True),
                                             key, label)
    return state_dict, dict(meta, source=text, path=path, label=label)


def check_source(source: Union[str, os.PathLike], key: str = 'model',
                 what: str = 'weights') -> None:
    """Check a source before a model is built: an existing file must read as
    a checkpoint with ``key`` weights (memory-mapped: cheap even for GB
    files), anything else must be a zoo name (not fetched here). Raises a
    one-line :class:`~mmglip.errors.UserError` naming ``what``."""
    text = os.fspath(source)
    if osp.exists(text):
        check_file(text, what)
        checkpoint_state_dict(read_checkpoint(text, mmap=True), key, text)
        return
    from mmglip.zoo.hub import is_zoo_reference
    if not is_zoo_reference(text):
        raise UserError(f'{what} {text}: no such file, nor a zoo name (see '
                        'tools/download.py --list).')


# ------------------------------------------------------------------ loading
@dataclass
class LoadReport:
    """What loading a checkpoint did: keys of the model left unfilled,
    checkpoint keys not used (besides known ignorable ones) and keys whose
    shapes differ (``key: checkpoint shape vs model shape``)."""
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    source: str = ''

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def __str__(self) -> str:

        def block(title, keys):
            if not keys:
                return ''
            shown = '\n    '.join(keys[:20])
            more = f'\n    ... and {len(keys) - 20} more' \
                if len(keys) > 20 else ''
            return f'\n  {title} ({len(keys)}):\n    {shown}{more}'

        return (f'Loading {self.source}: ' +
                ('all weights matched' if self.ok else 'MISMATCH') +
                block('missing in checkpoint', self.missing) +
                block('unexpected in checkpoint', self.unexpected) +
                block('shape mismatch (checkpoint vs model)',
                      self.mismatched))


def load_into_model(model: torch.nn.Module, state_dict: Mapping,
                    source: str = 'checkpoint', strict: bool = True,
                    meta: Optional[Mapping] = None) -> LoadReport:
    """Load an mmglip-layout state dict, checking every key and shape.

    ``meta`` (from :func:`state_dict_from`) adds the official keys that were
    not converted to the unexpected ones. A recorded head layout that is not
    the model's is refused first, whatever ``strict``.

    Raises:
        CheckpointMismatchError: another variant's checkpoint; with
            ``strict`` any missing, unexpected or mis-shaped key (the
            message names them).
    """
    meta = meta or {}
    check_layout(model, meta if 'fusion_blocks' in meta else
                 recorded_layout(state_dict), source)
    own = model.state_dict()
    report = LoadReport(source=source, ignored=list(meta.get('ignored', ())),
                        unexpected=list(meta.get('unconverted', ())))
    usable = OrderedDict()
    for key, value in state_dict.items():
        if key not in own:
            report.unexpected.append(key)
        elif tuple(own[key].shape) != tuple(value.shape):
            report.mismatched.append(
                f'{key}: {tuple(value.shape)} vs {tuple(own[key].shape)}')
        else:
            usable[key] = value
    report.missing = [
        k for k in own
        if k not in state_dict and not DERIVED_BUFFERS.search(k)
    ]
    if strict and not report.ok:
        raise CheckpointMismatchError(str(report))
    model.load_state_dict(usable, strict=False)
    return report


def load_weights(model: torch.nn.Module, source: Source, key: str = 'model',
                 strict: bool = True) -> LoadReport:
    """Load any accepted source (see :func:`state_dict_from`: an official
    file, an mmglip checkpoint, a zoo name, ``mmglip://NAME``, a loaded
    dict) into ``model``; ``key``: ``model`` or ``model_ema`` weights.

    Raises:
        CheckpointMismatchError: see :func:`load_into_model`.
        FileNotFoundError, UserError: see :func:`state_dict_from`.
    """
    state_dict, meta = state_dict_from(source, key)
    return load_into_model(model, state_dict, meta['label'], strict, meta)


__all__ = [
    'CheckpointMismatchError', 'LoadReport', 'MissingWeightsError',
    'check_source', 'checkpoint_state_dict', 'load_into_model',
    'load_weights', 'resolve_source', 'state_dict_from'
]
