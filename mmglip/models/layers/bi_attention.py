"""Bidirectional vision<->language cross-attention (GLIP's X-MHA)."""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from .fast_inference import shortcut_allowed

# fp16 has little range: logits are clamped to this before any softmax
# (official; 50000 < 65504, the largest fp16 value)
MAX_CLAMP_VALUE = 50000.0
# the official additive value of padding tokens; it overflows fp16
OFFICIAL_MASK_VALUE = -9e15


def mask_padding_tokens(logits: Tensor, lang_mask: Tensor) -> Tensor:
    """Mask padding tokens in vision -> text logits before the softmax.

    Args:
        logits: [B, X, Y, L] logits (clamped to +-MAX_CLAMP_VALUE), tokens
            last: [B, heads, N, L], or [B, N, heads, L] (folded path).
        lang_mask: [B, L], 1 for real tokens, 0 for padding.

    fp32 / fp64: the official arithmetic, an additive mask of +1 on real
    tokens and -9e15 on padding, so results stay bit-identical to the
    reference. Narrower dtypes: -9e15 overflows fp16, and in bf16 the +1
    would be rounded into the logits; padding is set to the dtype's lowest
    finite value instead and real tokens are left as they are. After the
    softmax both give the same probabilities: padding exactly 0 (the clamp
    keeps real logits far above it), a common shift of the real logits
    changes nothing, and a row of padding only stays uniform.
    """
    bsz, _, num_vis, num_tok = logits.shape
    if logits.dtype in (torch.float32, torch.float64):
        additive = lang_mask[:, None, None, :].expand(
            bsz, 1, num_vis, num_tok).to(logits.dtype)
        additive = additive.masked_fill(additive == 0, OFFICIAL_MASK_VALUE)
        return logits + additive
    return logits.masked_fill(lang_mask[:, None, None, :] == 0,
                              torch.finfo(logits.dtype).min)


class BiMultiHeadAttention(nn.Module):
    """Multi-head attention run both ways with one set of logits.

    Vision queries attend to text keys; the transposed logits let every text
    token attend to all visual positions. Names follow the official layers
    (``v_proj`` vision query, ``l_proj`` text key, ``values_*`` values,
    ``out_*`` output projections).

    Args:
        v_dim: visual channels (256).
        l_dim: text channels (768).
        embed_dim: attention width (2048).
        num_heads: heads (8).
        dropout: attention-probability dropout in training.
        checkpoint_heads: in training, compute each (image, head)'s
            attention maps as a checkpointed piece: its [N, L] logits and
            probabilities (a few hundred MB per map over 22k positions) are
            recomputed in backward instead of kept, one head at a time. Same
            loss and gradients (per-head arithmetic), less memory, more time.
    """

    def __init__(self, v_dim: int, l_dim: int, embed_dim: int,
                 num_heads: int, dropout: float = 0.1,
                 checkpoint_heads: bool = False):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f'embed_dim {embed_dim} is not divisible by '
                             f'num_heads {num_heads}.')
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.scale = self.head_dim**-0.5
        self.dropout = dropout
        self.checkpoint_heads = checkpoint_heads
        self.v_proj = nn.Linear(v_dim, embed_dim)
        self.l_proj = nn.Linear(l_dim, embed_dim)
        self.values_v_proj = nn.Linear(v_dim, embed_dim)
        self.values_l_proj = nn.Linear(l_dim, embed_dim)
        self.out_v_proj = nn.Linear(embed_dim, v_dim)
        self.out_l_proj = nn.Linear(embed_dim, l_dim)
        for lin in (self.v_proj, self.l_proj, self.values_v_proj,
                    self.values_l_proj, self.out_v_proj, self.out_l_proj):
            nn.init.xavier_uniform_(lin.weight)
            lin.bias.data.fill_(0)

    def _heads(self, x: Tensor) -> Tensor:
        """(B, N, E) -> (B * heads, N, head_dim)."""
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, self.head_dim).transpose(
            1, 2).reshape(b * self.num_heads, n, self.head_dim)

    def _merge(self, x: Tensor, b: int) -> Tensor:
        """(B * heads, N, head_dim) -> (B, N, E)."""
        n = x.shape[1]
        return x.view(b, self.num_heads, n, self.head_dim).transpose(
            1, 2).reshape(b, n, self.embed_dim)

    def forward(self, vis: Tensor, lang: Tensor,
                lang_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """
        Args:
            vis: [B, N, v_dim] visual positions of all levels.
            lang: [B, L, l_dim] token features.
            lang_mask: [B, L], 1 for real tokens, 0 for padding.

        Returns:
            ([B, N, v_dim], [B, L, l_dim]) updates for both sides.
        """
        if shortcut_allowed(self):  # fast_inference_ops: same function
            return self._forward_folded(vis, lang, lang_mask)
        bsz = vis.shape[0]
        query = self._heads(self.v_proj(vis) * self.scale)
        key = self._heads(self.l_proj(lang))
        value_v = self._heads(self.values_v_proj(vis))
        value_l = self._heads(self.values_l_proj(lang))
        if self.checkpoint_heads and self.training and \
                torch.is_grad_enabled():
            from torch.utils.checkpoint import checkpoint
            # rows are (image, head) pairs, image-major
            h = self.num_heads
            pieces = [
                checkpoint(self._attend, query[i:i + 1], key[i:i + 1],
                           value_v[i:i + 1], value_l[i:i + 1],
                           lang_mask[i // h:i // h + 1], use_reentrant=False)
                for i in range(query.shape[0])
            ]
            out_v = torch.cat([p[0] for p in pieces])
            out_l = torch.cat([p[1] for p in pieces])
        else:
            out_v, out_l = self._attend(query, key, value_v, value_l,
                                        lang_mask)
        out_v = self._merge(out_v, bsz)
        out_l = self._merge(out_l, bsz)
        return self.out_v_proj(out_v), self.out_l_proj(out_l)

    def _attend(self, query: Tensor, key: Tensor, value_v: Tensor,
                value_l: Tensor, lang_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """The attention of R rows of (image, head) pairs, image-major:
        query / value_v [R, N, d], key / value_l [R, L, d], lang_mask
        [R / heads_per_image, L] (all heads of B images, or one head of one
        image: [1, L]) -> vision updates [R, N, d], text updates [R, L, d].
        """
        # [R, N, L]
        logits = torch.bmm(query, key.transpose(1, 2)).clamp(
            min=-MAX_CLAMP_VALUE, max=MAX_CLAMP_VALUE)

        # text -> vision: every token over all visual positions
        probs_l = self._text_probs(logits.transpose(1, 2))

        # vision -> text: padding tokens are masked out
        rows, num_vis, num_tok = logits.shape
        per_image = rows // lang_mask.shape[0]
        probs_v = mask_padding_tokens(
            logits.view(-1, per_image, num_vis, num_tok), lang_mask).view(
                rows, num_vis, num_tok).softmax(dim=-1)

        probs_v = F.dropout(probs_v, p=self.dropout, training=self.training)
        probs_l = F.dropout(probs_l, p=self.dropout, training=self.training)
        return torch.bmm(probs_v, value_l), torch.bmm(probs_l, value_v)

    @staticmethod
    def _text_probs(logits_l: Tensor, dim: int = -1) -> Tensor:
        """Text -> vision probabilities: softmax over the visual positions
        (dimension ``dim``) of the logits shifted by their maximum there
        and clamped (official)."""
        logits_l = logits_l - logits_l.max(dim=dim, keepdim=True)[0]
        return logits_l.clamp_(min=-MAX_CLAMP_VALUE,
                               max=MAX_CLAMP_VALUE).softmax(dim=dim)

    def _forward_folded(self, vis: Tensor, lang: Tensor,
                        lang_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """:meth:`forward` for inference with the visual projections folded
        into the attention, per head h (text side: L tokens, cheap):

        - logits: ``(v Wq_h' + bq_h) s k_h' = v (s Wq_h' k_h') + s k_h bq_h``
          - a [v_dim, L] matrix per head instead of the [N, embed_dim]
          queries;
        - vision update: ``sum_h P_h (V_l,h Wo_h') + bo`` - the value and
          output projections of the text multiplied first ([L, v_dim]);
        - text update: ``P'_h (v Wvv_h' + bvv_h) = (P'_h v) Wvv_h' +
          bvv_h`` (each row of P'_h sums to 1).

        Three N x (heads * L) x v_dim products instead of three of N x
        v_dim x embed_dim plus three of N x L x embed_dim (GLIP-T: 256 x
        2048, 8 heads): about 0.45x the arithmetic and no [N, 2048]
        tensors. The logits, clamps, masks and softmaxes are the plain
        path's; only the order of the sums changes (float rounding).
        """
        bsz, num_vis, v_dim = vis.shape
        h, d = self.num_heads, self.head_dim
        num_tok = lang.shape[1]
        key = self.l_proj(lang).view(bsz, num_tok, h, d)
        w_q = self.v_proj.weight.view(h, d, v_dim)
        b_q = self.v_proj.bias.view(h, d)
        # [B, v_dim, h * L] and [B, 1, h * L]
        fold_q = torch.einsum('hdv,blhd->bvhl', w_q, key).reshape(
            bsz, v_dim, h * num_tok) * self.scale
        fold_b = torch.einsum('hd,blhd->bhl', b_q, key).reshape(
            bsz, 1, h * num_tok) * self.scale
        # [B, N, h * L]; softmaxes over N (text side) and L (vision side)
        # in this layout, no transposed copies
        logits = torch.baddbmm(fold_b, vis, fold_q).clamp_(
            min=-MAX_CLAMP_VALUE, max=MAX_CLAMP_VALUE)
        probs_l = self._text_probs(logits, dim=1)
        probs_v = mask_padding_tokens(
            logits.view(bsz, num_vis, h, num_tok), lang_mask).softmax(dim=-1)

        value_l = self.values_l_proj(lang).view(bsz, num_tok, h, d)
        w_o = self.out_v_proj.weight.view(v_dim, h, d)
        fold_o = torch.einsum('blhd,vhd->bhlv', value_l, w_o).reshape(
            bsz, h * num_tok, v_dim)
        out_v = torch.baddbmm(self.out_v_proj.bias, probs_v.reshape(
            bsz, num_vis, h * num_tok), fold_o)

        mixed = torch.bmm(probs_l.transpose(1, 2), vis)
        w_vv = self.values_v_proj.weight.view(h, d, v_dim)
        out_l = torch.einsum('bhlv,hdv->blhd', mixed.view(
            bsz, h, num_tok, v_dim), w_vv) + self.values_v_proj.bias.view(
                h, d)
        return out_v, self.out_l_proj(out_l.reshape(bsz, num_tok,
                                                    self.embed_dim))


class BiAttentionBlock(nn.Module):
    """Pre-norm X-MHA with layer scale over all FPN levels at once.

    The residual is added to the *normalised* input on both sides, as in the
    official model.

    Args:
        v_dim, l_dim, embed_dim, num_heads, dropout, checkpoint_heads:
            see :class:`BiMultiHeadAttention`.
        drop_path: stochastic depth on the updates.
        init_values: initial layer-scale gamma (1 / number of blocks).
    """

    def __init__(self, v_dim: int = 256, l_dim: int = 768,
                 embed_dim: int = 2048, num_heads: int = 8,
                 dropout: float = 0.1, drop_path: float = 0.0,
                 init_values: float = 1.0 / 6,
                 checkpoint_heads: bool = False):
        super().__init__()
        self.layer_norm_v = nn.LayerNorm(v_dim)
        self.layer_norm_l = nn.LayerNorm(l_dim)
        self.attn = BiMultiHeadAttention(v_dim, l_dim, embed_dim, num_heads,
                                         dropout, checkpoint_heads)
        self.drop_path = DropPath(drop_path) if drop_path > 0 \
            else nn.Identity()
        self.gamma_v = nn.Parameter(init_values * torch.ones(v_dim))
        self.gamma_l = nn.Parameter(init_values * torch.ones(l_dim))

    def forward(self, feats: List[Tensor], lang: Tensor,
                lang_mask: Tensor) -> Tuple[List[Tensor], Tensor]:
        """
        Args:
            feats: per level [B, C, Hi, Wi].
            lang: [B, L, l_dim].
            lang_mask: [B, L].

        Returns:
            fused per-level features (same shapes) and fused tokens.
        """
        sizes = [f.shape[-2:] for f in feats]
        # levels -> one sequence: [B, sum(Hi*Wi), C]
        vis = torch.cat([f.flatten(2).transpose(1, 2) for f in feats], dim=1)
        vis = self.layer_norm_v(vis)
        lang = self.layer_norm_l(lang)
        delta_v, delta_l = self.attn(vis, lang, lang_mask)
        vis = vis + self.drop_path(self.gamma_v * delta_v)
        lang = lang + self.drop_path(self.gamma_l * delta_l)
        vis = vis.transpose(1, 2)
        out, start = [], 0
        for (h, w) in sizes:
            out.append(vis[:, :, start:start + h * w].reshape(
                vis.shape[0], -1, h, w).contiguous())
            start += h * w
        return out, lang
