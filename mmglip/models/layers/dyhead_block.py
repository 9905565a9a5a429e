"""DyHead block: scale-, spatial- and task-aware attention over FPN levels."""
from typing import List

import torch
import torch.nn.functional as F
from mmcv.ops import ModulatedDeformConv2d
from torch import Tensor, nn

from .deform_conv import modulated_deform_conv2d_sampled
from .fast_inference import shortcut_allowed


def _autocast_enabled(device_type: str) -> bool:
    """torch.is_autocast_enabled(device_type) (torch >= 2.4) for torch 2.x."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no argument, CUDA only
        return torch.is_autocast_cpu_enabled() if device_type == 'cpu' \
            else torch.is_autocast_enabled()


class _ConvNorm(nn.Module):
    """3x3 (modulated deformable) conv + GroupNorm(16)."""

    def __init__(self, channels: int, stride: int, use_dcn: bool):
        super().__init__()
        self.use_dcn = use_dcn
        conv = ModulatedDeformConv2d if use_dcn else nn.Conv2d
        self.conv = conv(channels, channels, 3, stride=stride, padding=1)
        self.bn = nn.GroupNorm(16, channels)

    def _sampled_conv(self, x: Tensor, offset: Tensor,
                      mask: Tensor) -> Tensor:
        """``self.conv`` as a multi-threaded gather + one matrix product
        (``deform_conv.py``); the CPU shortcut under fast_inference_ops."""
        c = self.conv
        return modulated_deform_conv2d_sampled(x, offset, mask, c.weight,
                                               c.bias, c.stride, c.padding,
                                               c.dilation)

    def forward(self, x: Tensor, **dcn_args) -> Tensor:
        conv = self.conv
        if self.use_dcn and x.device.type == 'cpu' and conv.groups == 1 \
                and conv.deform_groups == 1 and shortcut_allowed(self):
            conv = self._sampled_conv
        if self.use_dcn and _autocast_enabled(x.device.type):
            # mmcv's deformable conv is a custom op that autocast does not
            # cast (and that has no bf16 kernel): run it in the weights'
            # dtype, as the official model does (custom_fwd(cast_inputs=
            # torch.float32))
            dtype = self.conv.weight.dtype
            with torch.autocast(x.device.type, enabled=False):
                out = conv(
                    x.to(dtype),
                    **{k: v.to(dtype)
                       for k, v in dcn_args.items()})
            return self.bn(out)
        return self.bn(conv(x, **dcn_args))


class GLIPDyReLU(nn.Module):
    """Task-aware attention: a per-channel max of two learned linear pieces,
    their slopes and intercepts predicted from the pooled feature.

    GLIP's own layout (``fc.0`` / ``fc.2``, hard-sigmoid), not mmdet's
    ``DyReLU``."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.channels = channels
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction), nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels * 4), nn.Hardsigmoid())

    def forward(self, x: Tensor) -> Tensor:
        b, c = x.shape[:2]
        coef = self.fc(F.adaptive_avg_pool2d(x, 1).view(b, c)).view(
            b, 4 * c, 1, 1)
        a1, b1, a2, b2 = torch.split(coef, self.channels, dim=1)
        # hard-sigmoid output in [0, 1] -> slopes around (1, 0), shifts at 0
        a1 = (a1 - 0.5) * 2.0 + 1.0
        a2 = (a2 - 0.5) * 2.0
        b1 = b1 - 0.5
        b2 = b2 - 0.5
        return torch.max(x * a1 + b1, x * a2 + b2)


class GLIPDyHeadBlock(nn.Module):
    """One DyHead block over all pyramid levels, as official GLIP's
    (not mmdet's ``DyHeadBlock``, whose layout and arithmetic differ).

    For each level, three convs read the level below (stride 2), the level
    itself and the level above (then bilinearly upsampled, align_corners as
    ``F.upsample_bilinear``); all share the offsets/masks predicted from the
    level itself. A hard-sigmoid scale attention weights their mean, and
    GLIPDyReLU applies the task attention.

    Parameter layout: ``spatial_convs.{0: from the level above, 1: same
    level, 2: from the level below}``, ``scale_attn``, ``task_attn``,
    ``offset`` (27 = 18 offsets + 9 masks).
    """

    def __init__(self, channels: int = 256, use_dcn: bool = True,
                 use_dyrelu: bool = True, use_dyfuse: bool = True):
        super().__init__()
        self.spatial_convs = nn.ModuleList([
            _ConvNorm(channels, 1, use_dcn),
            _ConvNorm(channels, 1, use_dcn),
            _ConvNorm(channels, 2, use_dcn)
        ])
        self.scale_attn = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, 1, 1),
            nn.ReLU(inplace=True)) if use_dyfuse else None
        self.task_attn = GLIPDyReLU(channels) if use_dyrelu else nn.ReLU()
        self.offset = nn.Conv2d(channels, 27, 3, padding=1) \
            if use_dcn else None
        for m in self.spatial_convs.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, 0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        if self.scale_attn is not None:
            nn.init.normal_(self.scale_attn[1].weight, 0, 0.01)
            nn.init.zeros_(self.scale_attn[1].bias)
        if self.offset is not None:
            nn.init.zeros_(self.offset.weight)
            nn.init.zeros_(self.offset.bias)

    def forward(self, feats: List[Tensor]) -> List[Tensor]:
        """Per level [B, C, Hi, Wi] in, same shapes out."""
        outs = []
        for level, feat in enumerate(feats):
            dcn_args = {}
            if self.offset is not None:
                offset_mask = self.offset(feat)
                dcn_args = dict(offset=offset_mask[:, :18],
                                mask=offset_mask[:, 18:].sigmoid())
            parts = [self.spatial_convs[1](feat, **dcn_args)]
            if level > 0:
                parts.append(self.spatial_convs[2](feats[level - 1],
                                                   **dcn_args))
            if level < len(feats) - 1:
                # the official model passes this level's offsets to the
                # coarser input too; kept for weight compatibility
                parts.append(
                    F.interpolate(
                        self.spatial_convs[0](feats[level + 1], **dcn_args),
                        size=feat.shape[-2:],
                        mode='bilinear',
                        align_corners=True))
            stacked = torch.stack(parts)
            if self.scale_attn is not None:
                attn = F.hardsigmoid(
                    torch.stack([self.scale_attn(p) for p in parts]))
                stacked = stacked * attn
            outs.append(stacked.mean(dim=0))
        return [self.task_attn(o) for o in outs]
