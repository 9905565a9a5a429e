"""GLIP's deep-fusion tower: X-MHA + BERT layer + DyHead, N times."""
from functools import partial
from typing import List, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from mmglip.registry import MODELS
from ..layers import BiAttentionBlock, GLIPDyHeadBlock, TextEncoderLayer
from ..language.features import LanguageFeatures


class FusionBlock(nn.Module):
    """[X-MHA, BERT layer on the text side, DyHead block]; with
    ``fuse=False`` only the DyHead block (GLIP-T (A))."""

    def __init__(self, channels: int, lang_dim: int, fuse: bool,
                 init_values: float, attn_cfg: dict, text_layer_cfg: dict,
                 dyhead_cfg: dict):
        super().__init__()
        self.fuse = fuse
        if fuse:
            self.cross_attn = BiAttentionBlock(
                v_dim=channels, l_dim=lang_dim, init_values=init_values,
                **attn_cfg)
            self.text_layer = TextEncoderLayer(hidden=lang_dim,
                                               **text_layer_cfg)
        self.dyhead = GLIPDyHeadBlock(channels, **dyhead_cfg)

    def forward(self, feats: List[Tensor], lang: Tensor,
                mask: Tensor) -> Tuple[List[Tensor], Tensor]:
        if self.fuse:
            feats, lang = self.cross_attn(feats, lang, mask)
            lang = self.text_layer(lang, mask)
        return self.dyhead(feats), lang


@MODELS.register_module()
class VLFusionNeck(BaseModule):
    """A tower of :class:`FusionBlock` s over the 5 FPN levels; it decides
    which token features reach the head.

    Args:
        num_blocks: 6 (GLIP-T) or 8 (GLIP-L).
        channels: FPN channels (256).
        lang_dim: token width; the detector sets it from its language model
            (768 for BERT-base).
        early_fuse: with False the tower is DyHead only and the head reads
            the padding-zeroed BERT output (``embedded``), as in GLIP-T (A).
        use_checkpoint: gradient checkpointing of each block in training
            (saves memory, costs a second forward).
        attn_cfg: X-MHA options (embed_dim 2048, num_heads 8, dropout 0.1,
            drop_path 0).
        text_layer_cfg: BERT layer options (num_heads 12, intermediate 3072,
            dropout 0.1).
        dyhead_cfg: DyHead options (use_dcn, use_dyrelu, use_dyfuse).
    """

    def __init__(self, num_blocks: int = 6, channels: int = 256,
                 lang_dim: int = 768, early_fuse: bool = True,
                 use_checkpoint: bool = False, attn_cfg: dict = None,
                 text_layer_cfg: dict = None, dyhead_cfg: dict = None,
                 init_cfg=None):
        super().__init__(init_cfg)
        attn_cfg = {
            **dict(embed_dim=2048, num_heads=8, dropout=0.1, drop_path=0.0),
            **(attn_cfg or {})
        }
        text_layer_cfg = {
            **dict(num_heads=12, intermediate=3072, dropout=0.1),
            **(text_layer_cfg or {})
        }
        self.early_fuse = early_fuse
        self.use_checkpoint = use_checkpoint
        self.blocks = nn.ModuleList([
            FusionBlock(channels, lang_dim, early_fuse, 1.0 / num_blocks,
                        attn_cfg, text_layer_cfg, dict(dyhead_cfg or {}))
            for _ in range(num_blocks)
        ])

    def forward(self, feats: Tuple[Tensor], lang: LanguageFeatures
                ) -> Tuple[List[Tensor], Tensor]:
        """
        Args:
            feats: FPN levels, each [B, C, Hi, Wi].
            lang: the language model's features (``hidden`` and ``masks``
                with early fusion, else ``embedded``).

        Returns:
            fused levels (same shapes) and the tokens for the head
            [B, L, lang_dim]: fused from ``hidden``, or ``embedded`` when
            ``early_fuse`` is off.
        """
        if not self.early_fuse:
            return self.forward_visual(feats), self.head_tokens(lang)
        feats = list(feats)
        tokens, mask = lang.hidden, lang.masks
        for block in self.blocks:
            if self.use_checkpoint and self.training:
                num = len(feats)
                # bind this block: recomputation runs after the loop ends
                out = checkpoint(
                    partial(_run_flat, block), tokens, mask, *feats,
                    use_reentrant=False)
                feats, tokens = list(out[:num]), out[num]
            else:
                feats, tokens = block(feats, tokens, mask)
        return feats, tokens

    @property
    def text_independent(self) -> bool:
        """Whether the fused levels do not depend on the text (no early
        fusion): then :meth:`forward_visual` gives them once for any number
        of prompts."""
        return not self.early_fuse

    def forward_visual(self, feats: Tuple[Tensor]) -> List[Tensor]:
        """The tower without text (``early_fuse=False`` only): DyHead
        blocks over the levels."""
        if self.early_fuse:
            raise RuntimeError('forward_visual: this fusion tower fuses text '
                               '(early_fuse=True); use forward(feats, lang).')
        feats = list(feats)
        for block in self.blocks:
            if self.use_checkpoint and self.training:
                feats = list(checkpoint(partial(_run_visual, block), *feats,
                                        use_reentrant=False))
            else:
                feats = block.dyhead(feats)
        return feats

    def head_tokens(self, lang: LanguageFeatures) -> Tensor:
        """The tokens the head reads without early fusion: the
        padding-zeroed BERT output."""
        return lang.embedded


def _run_flat(block, tokens, mask, *feats):
    fused, tokens = block(list(feats), tokens, mask)
    return (*fused, tokens)


def _run_visual(block, *feats):
    return tuple(block.dyhead(list(feats)))
