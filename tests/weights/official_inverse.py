"""mmglip layout -> official GLIP layout, for tests only: the inverse of
:mod:`mmglip.weights.official` (official files made from a model's own
weights, so that loading them can be checked key by key) and of mmdet's
``swin_converter``. mmglip itself never writes the official layout.
"""
import re
from collections import OrderedDict
from typing import Dict

from torch import Tensor

from mmglip.weights.official import _DYHEAD, _FPN, _is_scale

# patch merging concatenates the 2x2 neighbours in a different order
_UNFOLD = [0, 2, 1, 3]


def _reduction_to_official(w: Tensor) -> Tensor:
    out_c, in_c = w.shape
    return w.reshape(out_c, in_c // 4, 4).transpose(1, 2)[:, _UNFOLD, :] \
        .reshape(out_c, in_c)


def _norm_to_official(w: Tensor) -> Tensor:
    in_c = w.shape[0]
    return w.reshape(in_c // 4, 4).transpose(0, 1)[_UNFOLD].reshape(in_c)


def mmdet_swin_to_official(sd: Dict) -> OrderedDict:
    """Keys without ``backbone.`` -> official keys without ``backbone.body.``.
    """
    out = OrderedDict()
    for key, value in sd.items():
        new = key
        if key.startswith('stages.'):
            new = 'layers.' + key[len('stages.'):]
            new = new.replace('attn.w_msa.', 'attn.')
            new = new.replace('ffn.layers.0.0.', 'mlp.fc1.')
            new = new.replace('ffn.layers.1.', 'mlp.fc2.')
            if '.downsample.reduction.' in key:
                value = _reduction_to_official(value)
            elif '.downsample.norm.' in key:
                value = _norm_to_official(value)
        elif key.startswith('patch_embed.projection'):
            new = key.replace('projection', 'proj')
        out[new] = value
    return out


def mmglip_to_official(sd: Dict, fused: bool) -> OrderedDict:
    """Inverse of :func:`mmglip.weights.official.official_to_mmglip` for
    the converted keys; ``fused``: the model has deep fusion."""
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
