"""The full ImageNet EfficientNet-Lite0 classifier, built from mmglip's
backbone and the whole checkpoint: the tests check the weights with it."""
from typing import Union

import torch
import torch.nn as nn

from mmglip.models.backbones.efficientnet_lite import (
    LITE0_ARCH, ConvBNAct, EfficientNetLite0,
    efficientnet_lite0_checkpoint_path, load_checkpoint_tensors,
    map_state_dict_in_order)

HEAD_CHANNELS = 1280
NUM_CLASSES = 1000


class EfficientNetLite0Classifier(nn.Module):
    """Full ImageNet EfficientNet-Lite0 classifier: :class:`EfficientNetLite0`
    + head conv 1x1 (320 -> 1280) + BN + ReLU6 + global average pool +
    dropout + linear 1280 -> 1000. For checking the weights; returns logits.

    ``pretrained`` as for the backbone, but here the whole checkpoint (296
    tensors) is mapped and :meth:`init_weights` loads it.
    """

    def __init__(self,
                 pretrained: Union[bool, str] = True,
                 padding: str = 'same',
                 drop_rate: float = 0.2):
        super().__init__()
        self.pretrained = pretrained
        self.backbone = EfficientNetLite0(
            out_indices=(len(LITE0_ARCH) - 1, ),
            pretrained=False,
            padding=padding)
        self.conv_head = ConvBNAct(
            self.backbone.stage_channels[-1], HEAD_CHANNELS, 1,
            padding=padding)
        self.dropout = nn.Dropout(drop_rate)
        self.classifier = nn.Linear(HEAD_CHANNELS, NUM_CLASSES)

    def init_weights(self):
        if not self.pretrained:
            self.backbone.init_weights()
            return
        filename = (
            self.pretrained if isinstance(self.pretrained, str) else
            efficientnet_lite0_checkpoint_path())
        src = load_checkpoint_tensors(filename)
        mapped, leftover = map_state_dict_in_order(src, self.state_dict(),
                                                   filename)
        if leftover:
            raise ValueError(f'{filename}: {len(leftover)} tensors left '
                             f'after the classifier: {leftover}')
        self.load_state_dict(mapped, strict=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_head(self.backbone(x)[-1])
        x = x.mean(dim=(2, 3))
        return self.classifier(self.dropout(x))
