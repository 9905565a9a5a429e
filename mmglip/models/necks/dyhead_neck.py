"""A text-free DyHead tower: GLIP-T (A)'s fusion tower without language."""
from functools import partial
from typing import Optional, Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from mmglip.registry import MODELS
from ..layers import GLIPDyHeadBlock


@MODELS.register_module()
class DyHeadNeck(BaseModule):
    """``num_blocks`` :class:`GLIPDyHeadBlock` s over the FPN levels, the
    visual tower of the closed-set baselines (``configs/dyhead/``).

    The blocks are GLIP's own (the same module :class:`VLFusionNeck` wraps
    with the fusion layers), so GLIP-T (A)'s
    ``fusion_neck.blocks.<i>.dyhead.*`` weights are this neck's
    ``blocks.<i>.*`` as they are. ``VLFusionNeck.forward_visual`` is not
    reused: it needs a fusion neck built with a language width and the
    blocks wrapped in :class:`FusionBlock`, and it hands back a list where
    mmdet's heads take the levels as a tuple.

    Args:
        num_blocks: 6 (GLIP-T (A)), 2 (glip-lite).
        channels: FPN channels.
        dyhead_cfg: :class:`GLIPDyHeadBlock` options (use_dcn, use_dyrelu,
            use_dyfuse).
        use_checkpoint: gradient checkpointing of each block in training.
    """

    def __init__(self, num_blocks: int = 6, channels: int = 256,
                 dyhead_cfg: Optional[dict] = None,
                 use_checkpoint: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        self.use_checkpoint = use_checkpoint
        self.blocks = nn.ModuleList([
            GLIPDyHeadBlock(channels, **dict(dyhead_cfg or {}))
            for _ in range(num_blocks)
        ])

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """FPN levels, each [B, C, Hi, Wi] -> the same shapes."""
        feats = list(feats)
        for block in self.blocks:
            if self.use_checkpoint and self.training:
                feats = list(checkpoint(partial(_run, block), *feats,
                                        use_reentrant=False))
            else:
                feats = block(feats)
        return tuple(feats)


def _run(block, *feats):
    return tuple(block(list(feats)))
