"""mmengine's checkpoint loader, taught mmglip's sources: the door through
which ``load_from=`` and ``init_cfg`` checkpoints of configs come in.

* ``mmglip://NAME``: a zoo model (:func:`load_from_zoo`, through
  :func:`mmglip.weights.load.state_dict_from`, the one weights path);
* ``hf://OWNER/REPO[@REVISION]/PATH``: any file of the Hugging Face Hub
  (:func:`load_from_hf`);
* an official GLIP file given as a local path or an http(s) URL (mmengine's
  own loaders read it): converted to the mmglip layout here, at the door
  (:func:`converting`), so that models take mmglip-layout weights only.
  Any other checkpoint passes through as mmengine read it (resuming a run,
  Swin's ImageNet weights, a converted file).

A converted state dict records the official layout it came from
(:func:`mmglip.weights.official.record_layout`); GLIP checks that record
against its own fusion tower when it loads, so another variant's file is
refused naming both, even through mmengine's non-strict ``load_from``.
Official keys that mean nothing to mmglip's converter are kept under their
own names, so that mmengine's loader reports them as unexpected.

:func:`register_checkpoint_scheme` installs all of it; ``mmglip.
register_all_modules`` calls it.
"""
import functools
from typing import Any, Callable, Dict, Mapping

from .load import checkpoint_state_dict, state_dict_from
from .official import is_official, official_weights

HF_SCHEME = 'hf://'
#: mmengine's loaders (by prefix) whose official GLIP files are converted
CONVERTED_PREFIXES = ('', 'http://', 'https://', HF_SCHEME)


def load_from_zoo(filename: str, map_location: Any = None,
                  logger: Any = None) -> Dict:
    """mmengine checkpoint loader of ``mmglip://NAME``: the
    :func:`state_dict_from` result as ``{'state_dict', 'meta'}`` (tensors on
    the CPU; ``load_state_dict`` copies them to the model's device)."""
    state_dict, meta = state_dict_from(filename)
    return dict(state_dict=state_dict, meta=meta)


def load_from_hf(filename: str, map_location=None) -> Dict:
    """``hf://OWNER/REPO[@REVISION]/PATH/IN/REPO`` -> the checkpoint, through
    huggingface_hub (its cache, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``), e.g.
    Swin ImageNet weights for pretraining: ``model.backbone.init_cfg.
    checkpoint='hf://OWNER/REPO/swin_tiny_patch4_window7_224.pth'``.

    mmengine's own loaders take local files and plain URLs but no hub
    names; this one makes a hub file one more source.

    Raises:
        ZooError: the name is malformed or the file cannot be had (one line
            naming the URL and what to do).
    """
    from mmglip.utils.checkpoints import read_checkpoint
    from mmglip.zoo.sources import ZooError, from_hub
    parts = filename[len(HF_SCHEME):].split('/')
    if len(parts) < 3 or not all(parts):
        raise ZooError(
            f'{filename}: a hub file is hf://OWNER/REPO[@REVISION]/PATH '
            '(e.g. hf://GLIPModel/GLIP/glip_tiny_model_o365_goldg.pth).')
    repo, _, revision = parts[1].partition('@')
    path, _, _ = from_hub('/'.join(parts[2:]), f'{parts[0]}/{repo}',
                          revision or 'main', offline=None, quiet=True)
    # read on the CPU whatever map_location says: loading into the model
    # copies each tensor to its parameter's device
    return read_checkpoint(str(path))


def _official_inside(checkpoint: Any) -> bool:
    return isinstance(checkpoint, Mapping) and (
        is_official(checkpoint) or is_official(checkpoint.get('state_dict')))


def converted(checkpoint: Any, source: str) -> Any:
    """``checkpoint`` with official GLIP weights converted: ``{'state_dict':
    mmglip weights (layout recorded, unknown official keys kept as they
    are), 'meta': what was done}``; anything else as it is."""
    if not _official_inside(checkpoint):
        return checkpoint
    state_dict, meta = checkpoint_state_dict(checkpoint, 'model', source)
    if meta['unconverted']:
        inner = checkpoint.get('state_dict', checkpoint)
        weights, _ = official_weights(
            inner if is_official(inner) else checkpoint)
        state_dict.update((k, weights[k]) for k in meta['unconverted'])
    return dict(state_dict=state_dict, meta=meta)


def converting(loader: Callable) -> Callable:
    """Wrap one of mmengine's loaders ``(filename, map_location) ->
    checkpoint`` so that an official GLIP file comes out converted
    (:func:`converted`)."""
    if getattr(loader, '_mmglip_converting', False):
        return loader

    @functools.wraps(loader)
    def load(filename, map_location=None, *args, **kwargs):
        return converted(loader(filename, map_location, *args, **kwargs),
                         filename)

    load._mmglip_converting = True
    return load


def register_checkpoint_scheme() -> None:
    """Let mmengine's ``load_checkpoint`` (``load_from=`` and ``init_cfg``
    checkpoints in configs) take ``mmglip://NAME`` (the model zoo),
    ``hf://OWNER/REPO/FILE`` (any hub file) and official GLIP files (local
    paths, http(s) URLs, hub files), converted at the door; called by
    ``mmglip.register_all_modules`` (again: no change)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmglip.zoo.hub import SCHEME
    CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_from_zoo,
                                     force=True)
    CheckpointLoader.register_scheme(prefixes=HF_SCHEME, loader=load_from_hf,
                                     force=True)
    for prefix in CONVERTED_PREFIXES:
        CheckpointLoader.register_scheme(
            prefixes=prefix, force=True,
            loader=converting(CheckpointLoader._schemes[prefix]))


__all__ = [
    'HF_SCHEME', 'converted', 'converting', 'load_from_hf', 'load_from_zoo',
    'register_checkpoint_scheme'
]
