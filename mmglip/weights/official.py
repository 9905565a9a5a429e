"""Official GLIP checkpoints (microsoft/GLIP layout) <-> mmglip layout, as
pure functions: dicts in, dicts out, no files read, no model needed (except
:func:`check_layout`, which compares a layout with a built model).

An official file is ``{"model": state_dict, "optimizer", "scheduler",
"iteration", ...}`` (``"model_ema"`` too where EMA was on) with keys starting
``module.``; some copies hold the bare state dict. :func:`to_mmglip` takes
either and gives the mmglip state dict and what it did; optimizer and
scheduler state are dropped.

Why by hand: mmengine's ``load_checkpoint`` only picks ``state_dict`` (or the
whole file) and renames keys by regular expression (``revise_keys``). The
official layout needs more: the ``model`` / ``model_ema`` entry picked, the
fusion tower's flat ``dyhead_tower.N`` index split into (block, part) -- 3
parts per block with deep fusion, 1 without, known only from the keys --
and the Swin patch-merging channels reordered (mmdet's own
``swin_converter`` does that part). Files are read, and models loaded, by
:mod:`mmglip.weights.load`, the one path every tool takes.
"""
import re
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Tuple

from mmglip.errors import UserError

# official keys that carry nothing mmglip uses (buffers, an unused conv)
IGNORED_OFFICIAL = (
    re.compile(r'^language_backbone\.body\.model\.pooler\.'),
    re.compile(r'^language_backbone\.body\.model\.embeddings\.position_ids$'),
    re.compile(r'^rpn\.anchor_generator\.'),
    re.compile(r'^rpn\.head\.cls_logits\.'),
    re.compile(r'^backbone\.body\.layers\.\d+\.blocks\.\d+\.attn_mask$'),
)
# model buffers computed at construction: not required in a checkpoint
DERIVED_BUFFERS = re.compile(r'relative_position_index$')
# DyHead block parts: official -> mmglip
_DYHEAD = (('DyConv.', 'spatial_convs.'), ('AttnConv.', 'scale_attn.'),
           ('relu.fc.', 'task_attn.fc.'), ('offset.', 'offset.'))
_FPN = {
    'fpn_inner2': 'lateral_convs.0.conv', 'fpn_inner3': 'lateral_convs.1.conv',
    'fpn_inner4': 'lateral_convs.2.conv', 'fpn_layer2': 'fpn_convs.0.conv',
    'fpn_layer3': 'fpn_convs.1.conv', 'fpn_layer4': 'fpn_convs.2.conv',
    'top_blocks.p6': 'fpn_convs.3.conv', 'top_blocks.p7': 'fpn_convs.4.conv'
}
# keys only the official layout has (``module.`` prefix or not)
_OFFICIAL_PREFIXES = ('rpn.head.', 'backbone.body.', 'module.rpn.head.',
                      'module.backbone.body.')
#: where a converted state dict records the official layout it came from
#: (in its ``_metadata`` for the root module, see :func:`record_layout`)
LAYOUT_KEY = 'mmglip_official_layout'


class CheckpointMismatchError(UserError, RuntimeError):
    """A checkpoint that does not fit the model; the message lists keys."""


class MissingWeightsError(UserError, KeyError):
    """The checkpoint has no weights under the key asked for (``model_ema``
    of a file saved without EMA, of a bare state dict)."""

    def __str__(self) -> str:  # KeyError's would quote the message
        return str(self.args[0]) if self.args else ''


def _has_official_keys(weights: Any) -> bool:
    return isinstance(weights, Mapping) and any(
        isinstance(k, str) and k.startswith(_OFFICIAL_PREFIXES)
        for k in weights)


def _nested_official(checkpoint: Mapping) -> bool:
    return any(
        _has_official_keys(checkpoint.get(k)) for k in ('model', 'model_ema'))


def is_official(checkpoint: Mapping) -> bool:
    """Whether a checkpoint is in the official layout: a full official file
    (weights under ``model`` / ``model_ema``) or a bare official state dict,
    ``module.`` prefix or not."""
    return isinstance(checkpoint, Mapping) and (
        _nested_official(checkpoint) or _has_official_keys(checkpoint))


def _strip_module(weights: Mapping) -> OrderedDict:
    return OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in weights.items())


def _which(key: str) -> str:
    return 'EMA weights ("model_ema")' if key == 'model_ema' else \
        f'{key!r} weights'


def official_weights(checkpoint: Mapping, key: str = 'model',
                     source: str = 'the checkpoint'
                     ) -> Tuple[OrderedDict, List[str]]:
    """The official state dict of a checkpoint (``module.`` stripped) and
    the top-level entries left out (optimizer, scheduler, the other
    weights, ...).

    A full file gives its ``key`` entry (``model`` or ``model_ema``). A bare
    state dict is one set of weights: asking it for anything but ``model``
    is an error, not a silent load of the only weights there.

    Raises:
        MissingWeightsError: no ``key`` weights (the message names
            ``source`` and what the checkpoint holds).
    """
    nested = checkpoint.get(key)
    if isinstance(nested, Mapping):
        return _strip_module(nested), sorted(
            str(k) for k in checkpoint if k != key)
    entries = ', '.join(sorted(map(str, checkpoint))[:8])
    if _nested_official(checkpoint):
        raise MissingWeightsError(
            f'{source} has no {_which(key)}: its entries are {entries}'
            + ('; load its "model" weights instead.' if key != 'model'
               else '.'))
    if _has_official_keys(checkpoint):
        if key != 'model':
            raise MissingWeightsError(
                f'{source} has no {_which(key)}: it is a bare state dict, '
                'one set of weights; load it as "model" instead.')
        return _strip_module(checkpoint), []
    raise MissingWeightsError(
        f'{source} is not an official GLIP checkpoint: no "model" entry and '
        f'no official keys (its entries: {entries}).')


def extract_state_dict(checkpoint: Mapping, key: str = 'model'
                       ) -> OrderedDict:
    """:func:`official_weights` without the list of dropped entries."""
    return official_weights(checkpoint, key)[0]


def official_fusion_layout(sd: Dict) -> Tuple[bool, int]:
    """(has deep fusion, number of tower blocks) of an official state dict
    without ``module.``."""
    idx = {int(m.group(1)) for k in sd
           for m in [re.match(r'rpn\.head\.dyhead_tower\.(\d+)\.', k)] if m}
    fused = any('.b_attn.' in k for k in sd)
    n = (max(idx) + 1) if idx else 0
    return fused, (n // 3 if fused else n)


def official_to_mmglip(sd: Dict) -> Tuple[OrderedDict, List[str]]:
    """Convert an official state dict (``module.`` stripped).

    Returns:
        (mmglip state dict, official keys that were not converted: ignored
        buffers / unused layers and anything unknown).
    """
    fused, _ = official_fusion_layout(sd)
    per_block = 3 if fused else 1
    out, left, swin = OrderedDict(), [], OrderedDict()
    for key, value in sd.items():
        if any(p.search(key) for p in IGNORED_OFFICIAL):
            left.append(key)
            continue
        if key.startswith('backbone.body.'):
            swin[key[len('backbone.body.'):]] = value
            continue
        new = _convert_key(key, per_block)
        if new is None:
            left.append(key)
        else:
            # official Scale is shape [1], mmcv's Scale a 0-d tensor
            out[new] = value.reshape(()) if _is_scale(new) else value
    from mmdet.models.backbones.swin import swin_converter  # mmdet: slow
    out.update(swin_converter(swin))
    return out, left


def _convert_key(key: str, per_block: int) -> Optional[str]:
    m = re.match(r'backbone\.fpn\.(fpn_inner\d|fpn_layer\d|top_blocks\.p\d)'
                 r'\.(weight|bias)$', key)
    if m:
        return f'neck.{_FPN[m.group(1)]}.{m.group(2)}' \
            if m.group(1) in _FPN else None
    if key.startswith('language_backbone.body.model.'):
        return 'language_model.bert.' + key[len(
            'language_backbone.body.model.'):]
    m = re.match(r'rpn\.head\.dyhead_tower\.(\d+)\.(.+)$', key)
    if m:
        k, rest = int(m.group(1)), m.group(2)
        block, part = divmod(k, per_block)
        prefix = f'fusion_neck.blocks.{block}.'
        if per_block == 3 and part == 0:
            return prefix + 'cross_attn.' + rest[len('b_attn.'):] \
                if rest.startswith('b_attn.') else None
        if per_block == 3 and part == 1:
            return prefix + 'text_layer.' + rest
        for old, new in _DYHEAD:
            if rest.startswith(old):
                return prefix + 'dyhead.' + new + rest[len(old):]
        return None
    if key == 'rpn.tunable_linear.weight':
        return 'prompt_embeddings.weight'
    m = re.match(r'rpn\.head\.(bbox_pred\.|centerness\.|scales\.\d+\.scale$|'
                 r'dot_product_projection_text\.|log_scale$|bias_lang$|'
                 r'bias0$)', key)
    if m:
        return 'bbox_head.' + key[len('rpn.head.'):]
    return None


def _is_scale(key: str) -> bool:
    return re.search(r'scales\.\d+\.scale$', key) is not None


def _is_ignored(key: str) -> bool:
    return any(p.search(key) for p in IGNORED_OFFICIAL)


def record_layout(state_dict: OrderedDict, fusion: bool,
                  blocks: int) -> None:
    """Record an official head layout in ``state_dict._metadata``.

    torch (and mmengine's ``load_state_dict``) hand a module's load pre-hook
    its entry of ``_metadata``, and ``torch.save`` keeps it: so the layout
    reaches GLIP's layout check through mmengine's loader (``load_from=``
    an official file, ``'mmglip://NAME'``, a converted file) and another
    variant's file is refused there too.
    """
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is None:
        metadata = state_dict._metadata = OrderedDict()
    metadata[''] = dict(metadata.get('', {}), **{
        LAYOUT_KEY: dict(fusion=bool(fusion), fusion_blocks=int(blocks))})


def recorded_layout(state_dict: Mapping) -> Optional[Dict]:
    """The layout :func:`record_layout` put in ``state_dict``, or None."""
    metadata = getattr(state_dict, '_metadata', None) or {}
    return (metadata.get('') or {}).get(LAYOUT_KEY)


def to_mmglip(checkpoint: Mapping, key: str = 'model',
              source: str = 'the checkpoint') -> Tuple[OrderedDict, Dict]:
    """Convert an official checkpoint to mmglip's layout.

    Args:
        checkpoint: a full official file as loaded (weights under ``model``
            / ``model_ema``, optimizer etc. dropped) or a bare official state
            dict; ``module.`` prefixes or not.
        key: ``model`` or ``model_ema``.
        source: names the checkpoint in error messages.

    Returns:
        ``(state_dict, meta)``. ``meta``: ``layout`` (``'official'``),
        ``weights_key``, ``fusion`` / ``fusion_blocks`` (the head's layout),
        ``ignored`` (official keys mmglip has no use for: buffers, the unused
        ``cls_logits``, BERT's pooler), ``unconverted`` (unknown official
        keys, left out: loaders report them as unexpected) and ``dropped``
        (top-level entries not loaded). The state dict records the layout
        (:func:`record_layout`).

    Raises:
        MissingWeightsError: see :func:`official_weights`.
    """
    weights, dropped = official_weights(checkpoint, key, source)
    fused, blocks = official_fusion_layout(weights)
    converted, left = official_to_mmglip(weights)
    record_layout(converted, fused, blocks)
    return converted, dict(
        layout='official', weights_key=key, fusion=fused,
        fusion_blocks=blocks, ignored=[k for k in left if _is_ignored(k)],
        unconverted=[k for k in left if not _is_ignored(k)],
        dropped=dropped)


def describe_layout(fused: bool, blocks: int) -> str:
    return (f'{blocks} fusion blocks (X-MHA + BERT layer + DyHead)'
            if fused else f'{blocks} DyHead blocks, no fusion (GLIP-T (A))')


def check_layout(model: Any, layout: Optional[Mapping], source: str) -> None:
    """Refuse a checkpoint of another GLIP variant: raise when ``layout``
    (``fusion`` and ``fusion_blocks`` as in :func:`to_mmglip`'s meta) is not
    the model's fusion tower, naming both. Loading a GLIP-T (A) file into a
    GLIP-T (C) config says so instead of listing a hundred keys. Nothing is
    checked without a layout (an mmglip checkpoint that records none) or
    without a fusion neck."""
    neck = getattr(model, 'fusion_neck', None)
    if not layout or not layout.get('fusion_blocks') or neck is None:
        return
    fused, blocks = bool(layout['fusion']), int(layout['fusion_blocks'])
    if fused != neck.early_fuse or blocks != len(neck.blocks):
        raise CheckpointMismatchError(
            f'{source} holds a head with {describe_layout(fused, blocks)} '
            'but the model has '
            f'{describe_layout(neck.early_fuse, len(neck.blocks))}: this '
            'checkpoint is of another GLIP variant; pick the config that '
            'matches it (see model_zoo.md).')
