"""Official GLIP checkpoints (microsoft/GLIP layout) <-> mmglip layout.

An official file is ``{"model": state_dict, "optimizer", "scheduler",
"iteration", ...}`` (``"model_ema"`` too where EMA was on) with keys starting
``module.``. Conversion is a pure function of the state dict; optimizer state
is dropped. Swin keys go through mmdet's own ``swin_converter`` (the
patch-merging channel order differs).
"""
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from mmglip.utils.cli import UserError

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


class CheckpointMismatchError(UserError, RuntimeError):
    """A checkpoint that does not fit the model; the message lists keys."""


def is_official(state_dict: Dict) -> bool:
    """Whether a state dict (``module.`` prefix or not) is in the official
    layout."""
    return any(
        k.startswith(('module.rpn.head.', 'rpn.head.',
                      'module.backbone.body.', 'backbone.body.'))
        for k in state_dict)


def extract_state_dict(checkpoint: Dict, key: str = 'model') -> Dict:
    """The model weights of a loaded official file (``model`` or
    ``model_ema``), without the ``module.`` prefix."""
    if key in checkpoint and isinstance(checkpoint[key], dict):
        sd = checkpoint[key]
    elif key != 'model' or is_official(checkpoint):
        if key != 'model':
            raise KeyError(
                f'The checkpoint has no {key!r} entry (it has: '
                f'{sorted(checkpoint)[:8]}); use --weights-key model.')
        sd = checkpoint
    else:
        raise KeyError('Not an official GLIP checkpoint: no "model" entry and '
                       f'no official keys (top-level keys: '
                       f'{sorted(checkpoint)[:8]}).')
    return OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in sd.items())


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


def mmglip_to_official(sd: Dict, fused: bool) -> OrderedDict:
    """Inverse of :func:`official_to_mmglip` for the converted keys (used by
    tests and to export mmglip models to the official layout)."""
    from .swin_inverse import mmdet_swin_to_official
    out = OrderedDict()
    per_block = 3 if fused else 1
    inv_fpn = {v: k for k, v in _FPN.items()}
    swin = OrderedDict()
    for key, value in sd.items():
        if key.startswith('backbone.'):
            swin[key[len('backbone.'):]] = value
            continue
        m = re.match(r'neck\.(.+\.conv)\.(weight|bias)$', key)
        if m:
            out[f'backbone.fpn.{inv_fpn[m.group(1)]}.{m.group(2)}'] = value
            continue
        if key.startswith('language_model.bert.'):
            out['language_backbone.body.model.' +
                key[len('language_model.bert.'):]] = value
            continue
        m = re.match(r'fusion_neck\.blocks\.(\d+)\.(cross_attn|text_layer|'
                     r'dyhead)\.(.+)$', key)
        if m:
            block, part, rest = int(m.group(1)), m.group(2), m.group(3)
            if part == 'cross_attn':
                k, rest = block * per_block, 'b_attn.' + rest
            elif part == 'text_layer':
                k = block * per_block + 1
            else:
                k = block * per_block + per_block - 1
                for old, new in _DYHEAD:
                    if rest.startswith(new):
                        rest = old + rest[len(new):]
                        break
            out[f'rpn.head.dyhead_tower.{k}.{rest}'] = value
            continue
        if key == 'prompt_embeddings.weight':
            out['rpn.tunable_linear.weight'] = value
            continue
        if key.startswith('bbox_head.'):
            out['rpn.head.' + key[len('bbox_head.'):]] = \
                value.reshape(1) if _is_scale(key) else value
    out.update(('backbone.body.' + k, v)
               for k, v in mmdet_swin_to_official(swin).items())
    return out


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


def _describe_layout(fused: bool, blocks: int) -> str:
    return (f'{blocks} fusion blocks (X-MHA + BERT layer + DyHead)'
            if fused else f'{blocks} DyHead blocks, no fusion (GLIP-T (A))')


def load_into_model(model: torch.nn.Module, state_dict: Dict,
                    source: str = 'checkpoint',
                    strict: bool = True) -> LoadReport:
    """Load a mmglip-layout state dict, checking every key and shape.

    Raises:
        CheckpointMismatchError: with ``strict`` and any missing, unexpected
            or mis-shaped key; the message names them.
    """
    own = model.state_dict()
    report = LoadReport(source=source)
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


def check_official_layout(model: torch.nn.Module, sd: Dict,
                          source: str) -> None:
    """Raise when an official state dict's fusion tower (fused or not,
    number of blocks) is not the model's: a file of another GLIP variant."""
    fused, blocks = official_fusion_layout(sd)
    neck = getattr(model, 'fusion_neck', None)
    if neck is not None and blocks and (
            fused != neck.early_fuse or blocks != len(neck.blocks)):
        raise CheckpointMismatchError(
            f'{source} holds a head with '
            f'{_describe_layout(fused, blocks)} but the model has '
            f'{_describe_layout(neck.early_fuse, len(neck.blocks))}: this '
            'checkpoint is of another GLIP variant; pick the config that '
            'matches it (see model_zoo.md).')


def load_official(model: torch.nn.Module, checkpoint, key: str = 'model',
                  strict: bool = True, source: str = None) -> LoadReport:
    """Load an official GLIP file (path or loaded dict) into ``model``.

    Checks first that the checkpoint's fusion tower (fused or not, number of
    blocks) is the model's, so loading a GLIP-T (A) file into a GLIP-T (C)
    config says so instead of listing a hundred keys.
    """
    source = source or (os.fspath(checkpoint) if isinstance(
        checkpoint, (str, os.PathLike)) else 'checkpoint')
    if isinstance(checkpoint, (str, os.PathLike)):
        checkpoint = torch.load(checkpoint, map_location='cpu',
                                weights_only=False)
    sd = extract_state_dict(checkpoint, key)
    check_official_layout(model, sd, source)
    converted, left = official_to_mmglip(sd)
    report_ignored = [k for k in left
                      if any(p.search(k) for p in IGNORED_OFFICIAL)]
    unknown = [k for k in left if k not in report_ignored]
    report = load_into_model(model, converted, source, strict=False)
    report.unexpected = unknown + report.unexpected
    report.ignored = report_ignored
    if strict and not report.ok:
        raise CheckpointMismatchError(str(report))
    return report
