"""Modulated deformable convolution (DCNv2) through ``grid_sample``.

mmcv's CPU kernel gathers its bilinear samples (im2col) on one thread,
about 85 % of a 3x3, 256-channel conv at 100 x 167 on two cores; here one
``F.grid_sample`` call gathers all taps on every core and one matrix
product applies the weights. The sampling rule is mmcv's: tap ``k = (i,
j)`` of output ``(y, x)`` reads ``(y * stride - pad + i * dilation +
dy_k, x * stride - pad + j * dilation + dx_k)`` bilinearly, corners outside
the image count as 0, and the value is multiplied by the tap's mask. Only
the coordinate arithmetic differs (``grid_sample`` takes them normalised),
so results agree with mmcv's to float rounding of the sample positions.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def modulated_deform_conv2d_sampled(
        x: Tensor, offset: Tensor, mask: Tensor, weight: Tensor,
        bias: Optional[Tensor], stride: Tuple[int, int],
        padding: Tuple[int, int], dilation: Tuple[int, int]) -> Tensor:
    """mmcv's ``modulated_deform_conv2d`` for one group and one deformable
    group.

    Args:
        x: [B, C, H, W] input.
        offset: [B, 2 * kh * kw, Ho, Wo], per tap (dy, dx) as mmcv (of
            another size: its first values, as mmcv reads them).
        mask: [B, kh * kw, Ho, Wo] modulation (likewise).
        weight: [O, C, kh, kw]; bias: [O] or None.
        stride, padding, dilation: (h, w) pairs.

    Returns:
        [B, O, Ho, Wo].
    """
    bsz, channels, height, width = x.shape
    out_ch, _, kh, kw = weight.shape
    taps = kh * kw
    out_h = (height + 2 * padding[0] - dilation[0] * (kh - 1) -
             1) // stride[0] + 1
    out_w = (width + 2 * padding[1] - dilation[1] * (kw - 1) -
             1) // stride[1] + 1
    if offset.shape[-2:] != (out_h, out_w):
        # mmcv reads each image's offsets / masks as a flat buffer laid out
        # for the output's size, whatever their shape; GLIP's DyHead
        # passes a level's offsets to the conv of the coarser level above
        offset = offset.reshape(bsz, -1)[:, :2 * taps * out_h * out_w]
        mask = mask.reshape(bsz, -1)[:, :taps * out_h * out_w]
    dev, dtype = x.device, x.dtype
    tap_i = torch.arange(kh, device=dev).repeat_interleave(kw)
    tap_j = torch.arange(kw, device=dev).repeat(kh)
    # integer base positions (exact), then + offset in x's dtype, as mmcv
    base_y = (torch.arange(out_h, device=dev)[None] * stride[0] - padding[0]
              + tap_i[:, None] * dilation[0]).to(dtype)
    base_x = (torch.arange(out_w, device=dev)[None] * stride[1] - padding[1]
              + tap_j[:, None] * dilation[1]).to(dtype)
    off = offset.reshape(bsz, taps, 2, out_h, out_w)
    pos_y = base_y[None, :, :, None] + off[:, :, 0]
    pos_x = base_x[None, :, None, :] + off[:, :, 1]
    # pixel p -> grid_sample's (2p + 1) / size - 1 (align_corners=False,
    # which also serves sizes of 1); zeros padding = mmcv's 0 corners
    grid = torch.stack(((pos_x * 2 + 1) / width - 1,
                        (pos_y * 2 + 1) / height - 1), dim=-1)
    cols = F.grid_sample(x, grid.view(bsz, taps * out_h, out_w, 2),
                         mode='bilinear', padding_mode='zeros',
                         align_corners=False)
    cols = cols.view(bsz, channels, taps, out_h * out_w).mul_(
        mask.reshape(bsz, 1, taps, out_h * out_w))
    out = torch.matmul(weight.reshape(out_ch, channels * taps),
                       cols.view(bsz, channels * taps, out_h * out_w))
    if bias is not None:
        out = out.add_(bias.view(1, out_ch, 1))
    return out.view(bsz, out_ch, out_h, out_w)
