"""The networks of a GLIP model as the two graphs mmglip exports.

* :class:`TextEncoderGraph`: token ids + attention mask -> the token
  features the detector consumes (``hidden`` with early fusion, the
  padding-zeroed ``embedded`` without, plus the prompt-tuning offset).
* :class:`DetectorGraph`: image batch + those features + their mask ->
  the head's outputs per level (alignment logits, box deltas,
  centerness), in the order :meth:`VLATSSHead.predict_by_feat` takes them.
  Post-processing (top-k, decoding, NMS, rescaling) stays in mmglip's
  Python code, so detections of both backends go through the same code.
* :class:`FixedPromptGraph`: the detector with one prompt's features
  baked in (``--texts``): image batch -> per chunk the head's outputs.

The graphs run the layers' inference shortcuts where they export
(``fast_inference_ops``: the X-MHA with its visual projections folded
into the attention, plain matrix products and einsums); DyHead's
deformable convolutions run :func:`mmglip.deploy.ops.deform_conv2d`,
which exports as ONNX's ``DeformConv`` (see there why that op and not
the CPU shortcut's gather).
"""
import contextlib
import types
from typing import Iterator, List

import torch
from torch import Tensor, nn

from mmglip.models.language.features import LanguageFeatures
from mmglip.models.layers.dyhead_block import _ConvNorm
from mmglip.models.layers.fast_inference import fast_inference_ops
from .ops import deform_conv2d

#: the head's outputs per level, in this order: ``logits_i``, then
#: ``bbox_preds_i``, then ``centerness_i``
HEAD_OUTPUTS = ('logits', 'bbox_preds', 'centerness')


def head_output_names(num_levels: int, prefix: str = '') -> List[str]:
    return [f'{prefix}{kind}_{i}' for kind in HEAD_OUTPUTS
            for i in range(num_levels)]


class _ExportConvNorm(nn.Module):
    """:class:`_ConvNorm` (the same conv and GroupNorm modules) with the
    modulated deformable conv as :func:`deform_conv2d`."""

    def __init__(self, layer: _ConvNorm):
        super().__init__()
        self.use_dcn = layer.use_dcn
        self.conv = layer.conv
        self.bn = layer.bn

    def forward(self, x: Tensor, offset: Tensor = None,
                mask: Tensor = None) -> Tensor:
        if not self.use_dcn:
            return self.bn(self.conv(x))
        c = self.conv
        return self.bn(deform_conv2d(x, offset, mask, c.weight, c.bias,
                                     c.stride, c.padding, c.dilation))


def _window_reverse(self, windows: Tensor, height, width) -> Tensor:
    """mmdet Swin's ``ShiftWindowMSA.window_reverse`` with the batch size
    as shape arithmetic: mmdet computes it with ``int()``, which the
    tracer records as the traced batch size (a graph for batch 1 only)."""
    size = self.window_size
    rows_per_image = (height // size) * (width // size)
    x = windows.view(windows.shape[0] // rows_per_image, height // size,
                     width // size, size, size, -1)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(
        x.shape[0], height, width, x.shape[-1])


def window_sizes(model: nn.Module) -> List[int]:
    """The window sizes of the model's Swin attention (none without)."""
    return sorted({m.window_size for m in model.modules()
                   if hasattr(m, 'window_reverse')})


@contextlib.contextmanager
def exportable(model: nn.Module) -> Iterator[nn.Module]:
    """Within this context ``model``'s DyHead convs are
    :class:`_ExportConvNorm` s, Swin's window attention reverses its
    windows for any batch size (:func:`_window_reverse`) and the layers'
    inference shortcuts are on (eval mode, no gradients); the original
    modules come back after."""
    swapped, patched = [], []
    for module in model.modules():
        if isinstance(module, nn.ModuleList):
            for i, child in enumerate(module):
                if isinstance(child, _ConvNorm):
                    swapped.append((module, i, child))
                    module[i] = _ExportConvNorm(child)
        if hasattr(module, 'window_reverse') and \
                hasattr(module, 'window_size'):
            module.window_reverse = types.MethodType(_window_reverse,
                                                     module)
            patched.append(module)
    training = model.training
    model.eval()
    try:
        with torch.no_grad(), fast_inference_ops():
            yield model
    finally:
        for parent, i, child in swapped:
            parent[i] = child
        for module in patched:
            del module.window_reverse
        model.train(training)


def language_tokens(model: nn.Module, input_ids: Tensor,
                    attention_mask: Tensor) -> Tensor:
    """What :meth:`GLIP._encode` and the fusion neck give the detector's
    first text-dependent layer: ``hidden`` (early fusion) or ``embedded``
    (without), with the prompt-tuning offset."""
    lm = model.language_model
    out = lm.bert(input_ids=input_ids, attention_mask=attention_mask,
                  output_hidden_states=True)
    layers = out.hidden_states[1:]
    if model.fusion_neck.early_fuse:
        tokens = layers[-1]
    else:
        feats = torch.stack(layers[-lm.num_layers:], 1).mean(1)
        tokens = feats * attention_mask.unsqueeze(-1).to(feats.dtype)
    if getattr(model, 'tuning_mode', 'full') == 'prompt':
        tokens = tokens + model.prompt_embeddings.weight[:tokens.shape[1]]
    return tokens


class TextEncoderGraph(nn.Module):
    """``input_ids``, ``attention_mask`` [B, L] -> ``tokens`` [B, L, C]."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return language_tokens(self.model, input_ids, attention_mask)


def head_outputs(model: nn.Module, image: Tensor, tokens: Tensor,
                 mask: Tensor) -> List[Tensor]:
    """The detector's outputs (see :data:`HEAD_OUTPUTS`) of a normalised,
    padded image batch [B, 3, H, W] and K prompts per image: ``tokens``
    [B * K, L, C] as :func:`language_tokens` gives them and their ``mask``
    [B * K, L], rows image-major (image b, prompt k at row b * K + k).
    The backbone runs once per image; the fusion tower and the head once
    per row (without early fusion the tower once per image too)."""
    feats = model.extract_feat(image)
    bsz = image.shape[0]
    per_image = tokens.shape[0] // bsz

    def rows(level: Tensor) -> Tensor:
        # each image's levels once per prompt of it
        shape = level.shape
        return level.unsqueeze(1).expand(
            bsz, per_image, shape[1], shape[2], shape[3]).reshape(
                -1, shape[1], shape[2], shape[3])

    if model.fusion_neck.early_fuse:
        fused, tokens = model.fusion_neck(
            [rows(f) for f in feats], LanguageFeatures(masks=mask,
                                                       hidden=tokens))
        logits, bbox_preds, centerness = model.bbox_head(
            fused, LanguageFeatures(masks=mask, tokens=tokens))
    else:
        fused = model.fusion_neck.forward_visual(feats)
        visual = model.bbox_head.forward_visual(fused)
        logits = model.bbox_head.forward_align(
            [rows(r.unsqueeze(-1)).squeeze(-1) for r in visual['regions']],
            tokens)
        bbox_preds = [rows(b) for b in visual['bbox_preds']]
        centerness = [rows(c) for c in visual['centerness']]
    return [*logits, *bbox_preds, *centerness]


class DetectorGraph(nn.Module):
    """``image`` [B, 3, H, W] (normalised, padded), ``tokens`` [B * K, L,
    C], ``mask`` [B * K, L] -> the head's outputs per level, per row of
    ``tokens`` (:func:`head_outputs`)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, image: Tensor, tokens: Tensor,
                mask: Tensor) -> List[Tensor]:
        return head_outputs(self.model, image, tokens, mask)


class FixedPromptGraph(nn.Module):
    """``image`` [B, 3, H, W] -> the head's outputs for one fixed prompt,
    whose token features (``tokens`` [K, L, C] and ``mask`` [K, L], one row
    per chunk) are constants of the graph: rows image-major as
    :func:`head_outputs`."""

    def __init__(self, model: nn.Module, tokens: Tensor, mask: Tensor):
        super().__init__()
        self.model = model
        self.register_buffer('tokens', tokens.clone())
        self.register_buffer('mask', mask.clone())

    def forward(self, image: Tensor) -> List[Tensor]:
        bsz = image.shape[0]
        return head_outputs(self.model, image,
                            self.tokens.repeat(bsz, 1, 1),
                            self.mask.repeat(bsz, 1))
