"""A zoo model's official checkpoint by name: the bytes fetched and verified
by :func:`mmglip.zoo.hub.fetch_file` (SHA-256, size, mirrors, quarantine)
and the content checked here: the file must load as an official GLIP
checkpoint of the index entry's variant (deep fusion on / off, number of
fusion blocks), else it is refused and set aside like a wrong SHA-256.

    from mmglip.weights.fetch import fetch_weights
    path = fetch_weights('glip-t_c')  # the verified official checkpoint

The check lives here, not in the zoo, because it reads the official layout
(:mod:`mmglip.weights.official`); the zoo knows which files exist and how
their bytes are had, not what a GLIP checkpoint looks like.
"""
import functools
import zipfile
from pathlib import Path
from typing import Optional

from mmglip.zoo.hub import SCHEME, fetch_file
from mmglip.zoo.index import load_index

from .official import extract_state_dict, is_official, official_fusion_layout


def _describe(fused: Optional[bool], blocks: Optional[int]) -> str:
    kind = 'fusion' if fused else 'DyHead (no fusion)'
    return f'{blocks if blocks is not None else "?"} {kind} blocks'


def glip_checkpoint_problem(path, entry) -> Optional[str]:
    """Why the file ``path`` is not an official GLIP checkpoint of the zoo
    entry's variant (None: it is). Unpickles the file: call it only on
    bytes whose SHA-256 was verified."""
    import torch  # here: fetching a file by name needs no torch
    try:  # official files pickle optimizer / scheduler objects
        ckpt = torch.load(path, map_location='cpu', weights_only=False,
                          mmap=zipfile.is_zipfile(path))
    except Exception as e:  # noqa: BLE001 - any unreadable file
        first = (str(e).strip().splitlines() or [''])[0]
        return (f'it does not load as a PyTorch checkpoint '
                f'({type(e).__name__}: {first})')
    try:
        sd = extract_state_dict(ckpt) if isinstance(ckpt, dict) else {}
    except KeyError:
        sd = {}
    if not is_official(sd):
        return ('it is not an official GLIP checkpoint (no "model" weights '
                'in the microsoft/GLIP layout)')
    fused, blocks = official_fusion_layout(sd)
    if (entry.deep_fusion is not None and fused != entry.deep_fusion) or (
            entry.fusion_blocks is not None and blocks !=
            entry.fusion_blocks):
        return (f'it holds a head of {_describe(fused, blocks)}, but '
                f'{entry.describe()} has '
                f'{_describe(entry.deep_fusion, entry.fusion_blocks)}')
    return None


def fetch_weights(name: str, mirror: Optional[str] = None,
                  offline: Optional[bool] = None,
                  quiet: bool = False) -> Path:
    """The verified official checkpoint of zoo model ``name``
    (``glip-t_c`` or ``mmglip://glip-t_c``): :func:`fetch_file` with the
    index entry's repository, revision, SHA-256 and size, then checked to
    load as an official GLIP checkpoint of the entry's variant (a file that
    does not is moved aside and named in a
    :class:`~mmglip.zoo.sources.ZooError`)."""
    entry = load_index().get(name[len(SCHEME):] if name.startswith(SCHEME)
                             else name)
    label = (f'official GLIP checkpoint, deep fusion {entry.deep_fusion}, '
             f'{entry.fusion_blocks} blocks')
    return fetch_file(entry.weight_file, repo_id=entry.hub_repo,
                      revision=entry.hub_revision, sha256=entry.sha256,
                      size=entry.file_size, mirror=mirror, offline=offline,
                      quiet=quiet,
                      checks=[(label, functools.partial(
                          glip_checkpoint_problem, entry=entry))])


__all__ = ['fetch_weights', 'glip_checkpoint_problem']
