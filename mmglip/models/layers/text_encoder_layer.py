"""A BERT encoder layer on the text side of the fusion tower.

Written against plain torch (not ``transformers``' private layer classes,
whose signatures change between releases). Parameter names follow BERT's
(``attention.self.query`` ... ``output.LayerNorm``) so BERT weights load
directly.
"""
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .bi_attention import MAX_CLAMP_VALUE


def _clamp_fp16(x: Tensor) -> Tensor:
    """The official BERT-layer clamp of hidden states to +-50000, kept
    within fp16's range (65504); applied to fp16 tensors only, where values
    past it would overflow (fp32 / bf16 results are left untouched)."""
    if x.dtype == torch.float16:
        return x.clamp(min=-MAX_CLAMP_VALUE, max=MAX_CLAMP_VALUE)
    return x


class _SelfAttention(nn.Module):

    def __init__(self, hidden: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden // num_heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, x: Tensor) -> Tensor:
        """(B, L, C) -> (B, heads, L, head_dim)."""
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, hidden: Tensor, additive_mask: Tensor) -> Tensor:
        query = self._heads(self.query(hidden))
        key = self._heads(self.key(hidden))
        value = self._heads(self.value(hidden))
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(
            self.head_dim)
        scores = scores.clamp(min=-MAX_CLAMP_VALUE, max=MAX_CLAMP_VALUE)
        probs = self.dropout((scores + additive_mask).softmax(dim=-1))
        ctx = torch.matmul(probs, value).permute(0, 2, 1, 3)
        return ctx.reshape(hidden.shape)


class _DenseNorm(nn.Module):
    """dense -> dropout -> LayerNorm(x + residual)."""

    def __init__(self, in_dim: int, hidden: int, dropout: float, eps: float):
        super().__init__()
        self.dense = nn.Linear(in_dim, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        x = _clamp_fp16(self.dropout(self.dense(x)))
        return _clamp_fp16(self.LayerNorm(x + residual))


class _Attention(nn.Module):

    def __init__(self, hidden, num_heads, dropout, eps):
        super().__init__()
        self.self = _SelfAttention(hidden, num_heads, dropout)
        self.output = _DenseNorm(hidden, hidden, dropout, eps)

    def forward(self, hidden: Tensor, additive_mask: Tensor) -> Tensor:
        return self.output(self.self(hidden, additive_mask), hidden)


class _Intermediate(nn.Module):

    def __init__(self, hidden: int, inner: int):
        super().__init__()
        self.dense = nn.Linear(hidden, inner)

    def forward(self, x: Tensor) -> Tensor:
        return _clamp_fp16(F.gelu(_clamp_fp16(self.dense(x))))


class TextEncoderLayer(nn.Module):
    """One BERT layer: self-attention with padding mask, then GELU MLP.

    Args:
        hidden: token width (768 for BERT-base).
        num_heads: attention heads (12).
        intermediate: MLP width (3072).
        dropout: hidden and attention dropout (0.1).
        layer_norm_eps: 1e-12 as BERT.
    """

    def __init__(self, hidden: int = 768, num_heads: int = 12,
                 intermediate: int = 3072, dropout: float = 0.1,
                 layer_norm_eps: float = 1e-12):
        super().__init__()
        self.attention = _Attention(hidden, num_heads, dropout,
                                    layer_norm_eps)
        self.intermediate = _Intermediate(hidden, intermediate)
        self.output = _DenseNorm(intermediate, hidden, dropout,
                                 layer_norm_eps)

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        """[B, L, C] tokens, [B, L] mask (1 real, 0 pad) -> [B, L, C]."""
        additive = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * \
            torch.finfo(hidden.dtype).min
        attended = self.attention(hidden, additive)
        return self.output(self.intermediate(attended), attended)
