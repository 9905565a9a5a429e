"""DyHead's modulated deformable convolution as a standard ONNX op.

Which op, and why: ONNX's ``DeformConv`` (opset 19; its optional ``mask``
input is DCNv2's modulation). Its sampling is mmcv's (and torchvision's):
per tap ``k`` the offsets ``(dy_k, dx_k)`` in channels ``2k, 2k + 1``,
bilinear samples with corners outside the image counted as 0, the value
times the tap's mask. ONNX Runtime runs it on CPU and CUDA, so the graph
holds one node per conv and no custom operator library. The other standard
spelling, ``GridSample`` (one bilinear sample per tap and channel into a
[B, C, 9 * Ho, Wo] buffer, then a 3x3 / stride-3 conv), computes the same
function but materialises nine copies of the input and needs the mask and
offsets rearranged around it, so it is not used.

mmglip's CPU shortcut for inference (``models/layers/deform_conv.py``:
``embedding_bag`` gathers, then one matrix product per block) does not
export to standard ops (``embedding_bag`` with per-sample weights becomes
a Loop); the graph uses this op instead and ONNX Runtime's own kernel.

:func:`deform_conv2d` is a ``torch.library`` custom op (``mmglip::
modulated_deform_conv2d``) so that the exporter sees one call, not mmcv's
kernel: :func:`register_symbolic` maps it to ``DeformConv``. Eager calls
(the export's trace) run mmcv's kernel.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor

#: the ONNX opset of the exported graphs: ``DeformConv`` needs 19
OPSET = 19


@torch.library.custom_op('mmglip::modulated_deform_conv2d', mutates_args=())
def _modulated_deform_conv2d(x: Tensor, offset: Tensor, mask: Tensor,
                             weight: Tensor, bias: Optional[Tensor],
                             stride: Sequence[int], padding: Sequence[int],
                             dilation: Sequence[int]) -> Tensor:
    from mmcv.ops import modulated_deform_conv2d
    return modulated_deform_conv2d(x.contiguous(), offset.contiguous(),
                                   mask.contiguous(), weight, bias,
                                   tuple(stride), tuple(padding),
                                   tuple(dilation), 1, 1)


@_modulated_deform_conv2d.register_fake
def _(x, offset, mask, weight, bias, stride, padding, dilation):
    kh, kw = weight.shape[-2:]
    out_h = (x.shape[2] + 2 * padding[0] - dilation[0] * (kh - 1) -
             1) // stride[0] + 1
    out_w = (x.shape[3] + 2 * padding[1] - dilation[1] * (kw - 1) -
             1) // stride[1] + 1
    return x.new_empty((x.shape[0], weight.shape[0], out_h, out_w))


def deform_conv2d(x: Tensor, offset: Tensor, mask: Tensor, weight: Tensor,
                  bias: Optional[Tensor], stride, padding,
                  dilation) -> Tensor:
    """mmcv's ``modulated_deform_conv2d`` (one group, one deformable
    group) as one exportable op. Offsets / masks of another spatial size
    than the output are read as mmcv reads them: each image's first values
    of the flat buffer (GLIP's DyHead hands a level's offsets to the conv
    of the coarser level above)."""
    bsz = x.shape[0]
    kh, kw = weight.shape[-2:]
    out_h = (x.shape[2] + 2 * padding[0] - dilation[0] * (kh - 1) -
             1) // stride[0] + 1
    out_w = (x.shape[3] + 2 * padding[1] - dilation[1] * (kw - 1) -
             1) // stride[1] + 1
    taps = kh * kw
    offset = offset.reshape(bsz, -1)[:, :2 * taps * out_h * out_w].reshape(
        bsz, 2 * taps, out_h, out_w)
    mask = mask.reshape(bsz, -1)[:, :taps * out_h * out_w].reshape(
        bsz, taps, out_h, out_w)
    return _modulated_deform_conv2d(x, offset, mask, weight, bias,
                                    list(stride), list(padding),
                                    list(dilation))


def _symbolic(g, x, offset, mask, weight, bias, stride, padding, dilation):
    from torch.onnx import symbolic_helper as sym
    stride = sym._get_const(stride, 'is', 'stride')
    padding = sym._get_const(padding, 'is', 'padding')
    dilation = sym._get_const(dilation, 'is', 'dilation')
    kh, kw = sym._get_tensor_sizes(weight)[-2:]
    inputs = [x, weight, offset]
    inputs.append(g.op('Constant', value_t=torch.zeros(
        sym._get_tensor_sizes(weight)[0])) if sym._is_none(bias) else bias)
    inputs.append(mask)
    return g.op('DeformConv', *inputs, kernel_shape_i=[kh, kw],
                strides_i=list(stride), pads_i=list(padding) * 2,
                dilations_i=list(dilation), group_i=1, offset_group_i=1)


def register_symbolic() -> None:
    """Let ``torch.onnx.export`` write :func:`deform_conv2d` as ONNX's
    ``DeformConv`` (idempotent)."""
    torch.onnx.register_custom_op_symbolic(
        'mmglip::modulated_deform_conv2d', _symbolic, OPSET)
