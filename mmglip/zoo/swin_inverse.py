"""mmdet SwinTransformer keys -> original Swin-Transformer keys.

The inverse of ``mmdet.models.backbones.swin.swin_converter``; used to export
mmglip weights in the official GLIP layout (and to test the conversion by
round trip).
"""
from collections import OrderedDict
from typing import Dict

from torch import Tensor

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
