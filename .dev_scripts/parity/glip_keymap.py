"""State-dict key mapping between MMDetection 3.3's GLIP port and the official
GLIP (microsoft/GLIP, maskrcnn_benchmark) checkpoint layout.

Pure torch, no mmdet import, so that any environment can use it.

Official layout (see shared/docs/GLIP-REFERENCE.md section 4); every key starts
with ``module.``:

    backbone.body.*            Swin-T in the original Swin-Transformer naming
                               (patch_embed.proj, layers.i.blocks.j.attn.qkv,
                               mlp.fc1/fc2, layers.i.downsample.reduction/norm,
                               norm1..norm3)
    backbone.fpn.*             fpn_inner2..4, fpn_layer2..4, top_blocks.p6/p7
    language_backbone.body.model.*   HF BertModel (no pooler)
    rpn.head.*                 VLDyHead: dyhead_tower.k.{b_attn.*, attention.*,
                               intermediate.*, output.*, DyConv.*, AttnConv.*,
                               relu.fc.*, offset.*}, bbox_pred, centerness,
                               scales.N.scale (shape [1]), dot_product_projection_text,
                               log_scale, bias_lang, bias0, cls_logits (unused)
    rpn.anchor_generator.cell_anchors.N   buffers (unused)

mmdet layout (``GLIP`` detector):

    backbone.*                 mmdet SwinTransformer (patch_embed.projection,
                               stages.i.blocks.j.attn.w_msa.*, ffn.layers.0.0 /
                               ffn.layers.1, stages.i.downsample.*, norm1..3)
    neck.lateral_convs.i.conv / neck.fpn_convs.i.conv
    language_model.language_backbone.body.model.*
    bbox_head.head.*           VLFusionModule (dyconvs / attnconv instead of
                               DyConv / AttnConv; Scale.scale is 0-dim)

The Swin patch-merging layer concatenates the four 2x2 neighbours in a different
order: official ``cat([x(0,0), x(1,0), x(0,1), x(1,1)])`` (row, col offsets),
i.e. channel index ``g * C + c`` for group g; mmdet uses ``nn.Unfold`` whose
channel index is ``c * 4 + u`` with unfold position u = 2*row + col. Group g of
the official order is unfold position ``[0, 2, 1, 3][g]``.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch

OFFICIAL_PREFIX = 'module.'

# mmdet neck module -> official FPN module
_FPN_MMDET_TO_OFFICIAL = {
    'neck.lateral_convs.0.conv': 'backbone.fpn.fpn_inner2',
    'neck.lateral_convs.1.conv': 'backbone.fpn.fpn_inner3',
    'neck.lateral_convs.2.conv': 'backbone.fpn.fpn_inner4',
    'neck.fpn_convs.0.conv': 'backbone.fpn.fpn_layer2',
    'neck.fpn_convs.1.conv': 'backbone.fpn.fpn_layer3',
    'neck.fpn_convs.2.conv': 'backbone.fpn.fpn_layer4',
    'neck.fpn_convs.3.conv': 'backbone.fpn.top_blocks.p6',
    'neck.fpn_convs.4.conv': 'backbone.fpn.top_blocks.p7',
}
_FPN_OFFICIAL_TO_MMDET = {v: k for k, v in _FPN_MMDET_TO_OFFICIAL.items()}

# Official unfold-group order: group g of the official concatenation sits at
# position _MERGE_ORDER[g] of mmdet's unfold. The permutation is its own
# inverse.
_MERGE_ORDER = [0, 2, 1, 3]

# Official keys that carry nothing the mmdet model uses. Matched as regexes on
# keys without the ``module.`` prefix.
IGNORED_OFFICIAL_PATTERNS = (
    r'^rpn\.anchor_generator\.',  # cell anchors (buffers, recomputed)
    r'^rpn\.head\.cls_logits\.',  # closed-set classifier, unused by GLIP
    r'^language_backbone\.body\.model\.pooler\.',  # BERT pooler, unused
    # buffers persisted by old transformers releases, non-persistent now
    r'^language_backbone\.body\.model\.embeddings\.position_ids$',
    r'^language_backbone\.body\.model\.embeddings\.token_type_ids$',
    r'^rpn\.tunable_linear\.',  # prompt-tuning offset, absent in mmdet
)


# --------------------------------------------------------------------------
# patch-merging channel order
# --------------------------------------------------------------------------
def merge_reduction_mmdet_to_official(w: torch.Tensor) -> torch.Tensor:
    """[out, 4C] weight, mmdet channel index c*4+u -> official g*C+c."""
    out_ch, in_ch = w.shape
    c = in_ch // 4
    w = w.reshape(out_ch, c, 4).transpose(1, 2)  # [out, u, c]
    w = w[:, _MERGE_ORDER, :]  # [out, g, c]
    return w.reshape(out_ch, in_ch).contiguous()


def merge_reduction_official_to_mmdet(w: torch.Tensor) -> torch.Tensor:
    """[out, 4C] weight, official channel index g*C+c -> mmdet c*4+u."""
    out_ch, in_ch = w.shape
    c = in_ch // 4
    w = w.reshape(out_ch, 4, c)[:, _MERGE_ORDER, :]  # [out, u, c]
    return w.transpose(1, 2).reshape(out_ch, in_ch).contiguous()


def merge_norm_mmdet_to_official(v: torch.Tensor) -> torch.Tensor:
    """[4C] norm weight/bias, mmdet order -> official order."""
    c = v.shape[0] // 4
    return v.reshape(c, 4).t()[_MERGE_ORDER, :].reshape(-1).contiguous()


def merge_norm_official_to_mmdet(v: torch.Tensor) -> torch.Tensor:
    """[4C] norm weight/bias, official order -> mmdet order."""
    c = v.shape[0] // 4
    return v.reshape(4, c)[_MERGE_ORDER, :].t().reshape(-1).contiguous()


# --------------------------------------------------------------------------
# key renames
# --------------------------------------------------------------------------
def _swin_mmdet_to_official(key: str) -> str:
    # key without the leading 'backbone.'
    key = key.replace('patch_embed.projection.', 'patch_embed.proj.', 1)
    if key.startswith('stages.'):
        key = 'layers.' + key[len('stages.'):]
        key = key.replace('.attn.w_msa.', '.attn.', 1)
        key = key.replace('.ffn.layers.0.0.', '.mlp.fc1.', 1)
        key = key.replace('.ffn.layers.1.', '.mlp.fc2.', 1)
    return 'backbone.body.' + key


def _swin_official_to_mmdet(key: str) -> str:
    # key without the leading 'backbone.body.'
    key = key.replace('patch_embed.proj.', 'patch_embed.projection.', 1)
    if key.startswith('layers.'):
        key = 'stages.' + key[len('layers.'):]
        key = key.replace('.attn.', '.attn.w_msa.', 1)
        key = key.replace('.mlp.fc1.', '.ffn.layers.0.0.', 1)
        key = key.replace('.mlp.fc2.', '.ffn.layers.1.', 1)
    return 'backbone.' + key


_TOWER_RE_MM = re.compile(r'^(dyhead_tower\.\d+\.)(dyconvs|attnconv)\.')
_TOWER_RE_OF = re.compile(r'^(dyhead_tower\.\d+\.)(DyConv|AttnConv)\.')
_TOWER_MM_TO_OF = {'dyconvs': 'DyConv', 'attnconv': 'AttnConv'}
_TOWER_OF_TO_MM = {v: k for k, v in _TOWER_MM_TO_OF.items()}
_SCALE_RE = re.compile(r'^scales\.\d+\.scale$')


def _is_swin_merge(key: str) -> Tuple[bool, bool]:
    """(is reduction weight, is merge norm) for an mmdet/official swin key."""
    is_red = bool(re.search(r'\.downsample\.reduction\.weight$', key))
    is_norm = bool(re.search(r'\.downsample\.norm\.(weight|bias)$', key))
    return is_red, is_norm


def mmdet_to_official(state_dict: Mapping[str, torch.Tensor],
                      prefix: str = OFFICIAL_PREFIX) -> 'OrderedDict[str, torch.Tensor]':
    """Convert an mmdet GLIP ``state_dict`` to official GLIP keys.

    Every mmdet key must be understood, else ``KeyError``. Returns only the
    converted tensors (no extra official-only buffers; see
    :func:`official_extras`).
    """
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key, val in state_dict.items():
        if key.startswith('backbone.'):
            new_key = _swin_mmdet_to_official(key[len('backbone.'):])
            is_red, is_norm = _is_swin_merge(key)
            if is_red:
                val = merge_reduction_mmdet_to_official(val)
            elif is_norm:
                val = merge_norm_mmdet_to_official(val)
        elif key.startswith('neck.'):
            mod, _, leaf = key.rpartition('.')
            if mod not in _FPN_MMDET_TO_OFFICIAL:
                raise KeyError(f'unknown mmdet neck key {key}')
            new_key = f'{_FPN_MMDET_TO_OFFICIAL[mod]}.{leaf}'
        elif key.startswith('language_model.language_backbone.'):
            new_key = key[len('language_model.'):]
        elif key.startswith('bbox_head.head.'):
            rest = key[len('bbox_head.head.'):]
            m = _TOWER_RE_MM.match(rest)
            if m:
                rest = (m.group(1) + _TOWER_MM_TO_OF[m.group(2)] + '.' +
                        rest[m.end():])
            if _SCALE_RE.match(rest):
                val = val.reshape(1)  # official Scale holds a [1] tensor
            new_key = 'rpn.head.' + rest
        else:
            raise KeyError(f'unknown mmdet key {key}')
        if prefix + new_key in out:
            raise KeyError(f'duplicate official key {prefix + new_key}')
        out[prefix + new_key] = val
    return out


def is_ignored_official_key(key: str) -> bool:
    """True for official keys that the mmdet model has no place for."""
    if key.startswith(OFFICIAL_PREFIX):
        key = key[len(OFFICIAL_PREFIX):]
    return any(re.search(p, key) for p in IGNORED_OFFICIAL_PATTERNS)


def official_to_mmdet(
        state_dict: Mapping[str, torch.Tensor],
        return_ignored: bool = False):
    """Convert official GLIP keys (with or without ``module.``) to mmdet keys.

    Keys matching :data:`IGNORED_OFFICIAL_PATTERNS` are dropped; any other key
    that is not understood raises ``KeyError``. With ``return_ignored`` a tuple
    ``(state_dict, ignored_keys)`` is returned.
    """
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    ignored: List[str] = []
    for full_key, val in state_dict.items():
        key = full_key
        if key.startswith(OFFICIAL_PREFIX):
            key = key[len(OFFICIAL_PREFIX):]
        if is_ignored_official_key(key):
            ignored.append(full_key)
            continue
        if key.startswith('backbone.body.'):
            new_key = _swin_official_to_mmdet(key[len('backbone.body.'):])
            is_red, is_norm = _is_swin_merge(key)
            if is_red:
                val = merge_reduction_official_to_mmdet(val)
            elif is_norm:
                val = merge_norm_official_to_mmdet(val)
        elif key.startswith('backbone.fpn.'):
            mod, _, leaf = key.rpartition('.')
            if mod not in _FPN_OFFICIAL_TO_MMDET:
                raise KeyError(f'unknown official fpn key {full_key}')
            new_key = f'{_FPN_OFFICIAL_TO_MMDET[mod]}.{leaf}'
        elif key.startswith('language_backbone.'):
            new_key = 'language_model.' + key
        elif key.startswith('rpn.head.'):
            rest = key[len('rpn.head.'):]
            m = _TOWER_RE_OF.match(rest)
            if m:
                rest = (m.group(1) + _TOWER_OF_TO_MM[m.group(2)] + '.' +
                        rest[m.end():])
            if _SCALE_RE.match(rest):
                val = val.reshape(())  # mmcv Scale holds a 0-dim tensor
            new_key = 'bbox_head.head.' + rest
        else:
            raise KeyError(f'unknown official key {full_key}')
        if new_key in out:
            raise KeyError(f'duplicate mmdet key {new_key}')
        out[new_key] = val
    if return_ignored:
        return out, ignored
    return out


# --------------------------------------------------------------------------
# official-only extras
# --------------------------------------------------------------------------
def official_cell_anchors(strides=(8, 16, 32, 64, 128),
                          sizes=(64, 128, 256, 512, 1024)) -> List[torch.Tensor]:
    """The official AnchorGenerator's ``cell_anchors`` buffers for GLIP-T
    (one square anchor per level, ratio 1, one scale per octave): a [1, 4]
    box centred on ((stride - 1) / 2) with side ``size`` in the "+1" pixel
    convention, i.e. ``ctr -/+ (size - 1) / 2``."""
    out = []
    for stride, size in zip(strides, sizes):
        ctr = (stride - 1) / 2.0
        half = (size - 1) / 2.0
        out.append(torch.tensor([[ctr - half, ctr - half, ctr + half, ctr + half]],
                                dtype=torch.float32))
    return out


def official_extras(num_classes: int = 80, channels: int = 256,
                    max_position_embeddings: int = 512,
                    generator: torch.Generator = None,
                    prefix: str = OFFICIAL_PREFIX) -> 'OrderedDict[str, torch.Tensor]':
    """Entries present in real official GLIP-T checkpoints that the mmdet
    model does not hold: anchor buffers, the unused closed-set ``cls_logits``
    conv (DYHEAD.NUM_CLASSES 81 -> 80 outputs) and BERT's ``position_ids``
    buffer (persistent in the transformers releases GLIP was trained with).
    """
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    out[prefix + 'language_backbone.body.model.embeddings.position_ids'] = \
        torch.arange(max_position_embeddings, dtype=torch.int64)[None]
    w = torch.randn(num_classes, channels, 1, 1, generator=generator) * 0.01
    out[prefix + 'rpn.head.cls_logits.weight'] = w
    out[prefix + 'rpn.head.cls_logits.bias'] = torch.full(
        (num_classes, ), -4.59511985013459)  # -log((1 - 0.01) / 0.01)
    for i, a in enumerate(official_cell_anchors()):
        out[prefix + f'rpn.anchor_generator.cell_anchors.{i}'] = a
    return out


def state_dicts_equal(a: Mapping[str, torch.Tensor],
                      b: Mapping[str, torch.Tensor]) -> Tuple[bool, List[str]]:
    """Exact comparison: same key set, same dtype, shape and values."""
    problems = []
    ka, kb = set(a), set(b)
    for k in sorted(ka - kb):
        problems.append(f'only in first: {k}')
    for k in sorted(kb - ka):
        problems.append(f'only in second: {k}')
    for k in sorted(ka & kb):
        x, y = a[k], b[k]
        if x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x, y):
            problems.append(f'differs: {k} {tuple(x.shape)} {x.dtype} vs '
                            f'{tuple(y.shape)} {y.dtype}')
    return not problems, problems


def key_summary(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, int]:
    """Number of keys per prefix of depth 5 (dot-separated)."""
    counts: Dict[str, int] = {}
    for k in state_dict:
        p = '.'.join(k.split('.')[:5])
        counts[p] = counts.get(p, 0) + 1
    return counts
