"""Modulated deformable convolution (DCNv2) as a gather plus one matrix
product, for CPU inference.

Why written here: mmcv's CPU kernel gathers its bilinear samples (im2col)
on one thread, about 85 % of a 3x3, 256-channel conv at 100 x 167 on two
cores. Here the input is laid out channels-last, so each bilinear sample
is a weighted sum of four contiguous C-vectors: ``F.embedding_bag`` (mode
``'sum'`` with per-sample weights, multi-threaded) computes all of them,
the tap's mask folded into the four corner weights. The samples of a block
of output positions are then one row each of a [positions, taps x C]
matrix that a single matrix product with the weights turns into the
output. Blocks of ``_ROWS`` positions keep that matrix in cache and its
memory reused, instead of a fresh [taps x C, H x W] buffer per call.

The sampling rule is mmcv's: tap ``k = (i, j)`` of output ``(y, x)`` reads
``(y * stride - pad + i * dilation + dy_k, x * stride - pad + j * dilation
+ dx_k)`` bilinearly, corners outside the image count as 0, and the value
is multiplied by the tap's mask; the corner weights are computed as mmcv
computes them, so results agree to float rounding (~1e-6).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# output positions per gather + matrix product: 1024 x 9 taps x 256
# channels x 4 bytes = 9.4 MB of samples (measured best of 128 .. all on
# 2 cores at 100 x 167)
_ROWS = 1024


def _corners(pos: Tensor, size: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Low / high integer corner of each sample position along one axis,
    their bilinear weights and whether each corner lies inside [0, size)."""
    low = pos.floor()
    frac = pos - low
    low = low.long()
    idx = torch.stack((low, low + 1), dim=-1)
    weight = torch.stack((1 - frac, frac), dim=-1)
    return idx, weight, (idx >= 0) & (idx < size)


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
    # integer base positions (exact), then + offset in x's dtype, as mmcv;
    # everything below is laid out [B, Ho, Wo, taps(, corner)]
    base_y = (torch.arange(out_h, device=dev)[:, None] * stride[0] -
              padding[0] + tap_i * dilation[0]).to(dtype)
    base_x = (torch.arange(out_w, device=dev)[:, None] * stride[1] -
              padding[1] + tap_j * dilation[1]).to(dtype)
    off = offset.reshape(bsz, taps, 2, out_h, out_w).permute(0, 3, 4, 1, 2)
    y_idx, y_w, y_in = _corners(base_y[None, :, None] + off[..., 0], height)
    x_idx, x_w, x_in = _corners(base_x[None, None] + off[..., 1], width)
    # corners (y0, x0), (y0, x1), (y1, x0), (y1, x1), as mmcv's v1 .. v4
    inside = (y_in[..., :, None] & x_in[..., None, :]).flatten(-2)
    rows = (y_idx[..., :, None] * width + x_idx[..., None, :]).flatten(-2)
    rows = rows + (torch.arange(bsz, device=dev) * (height * width)).view(
        bsz, 1, 1, 1, 1)
    rows = torch.where(inside, rows, 0).view(-1, taps * 4)
    tap_mask = mask.reshape(bsz, taps, out_h, out_w).permute(0, 2, 3, 1)
    corner_w = (y_w[..., :, None] * x_w[..., None, :]).flatten(-2)
    corner_w = (corner_w * tap_mask[..., None] * inside).view(-1, taps * 4)

    table = x.permute(0, 2, 3, 1).contiguous().view(-1, channels)
    w_mat = weight.permute(0, 2, 3, 1).reshape(out_ch, taps * channels).t()
    n = rows.shape[0]
    out = x.new_empty(n, out_ch)
    for start in range(0, n, _ROWS):
        end = min(start + _ROWS, n)
        cols = F.embedding_bag(
            rows[start:end].reshape(-1, 4), table,
            per_sample_weights=corner_w[start:end].reshape(-1, 4),
            mode='sum').view(end - start, taps * channels)
        if bias is None:
            torch.mm(cols, w_mat, out=out[start:end])
        else:
            torch.addmm(bias, cols, w_mat, out=out[start:end])
    return out.view(bsz, out_h, out_w, out_ch).permute(0, 3, 1, 2).contiguous()
