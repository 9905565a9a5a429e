from .bi_attention import MAX_CLAMP_VALUE, BiAttentionBlock, BiMultiHeadAttention
from .dyhead_block import DyHeadBlock, DyReLU
from .text_encoder_layer import TextEncoderLayer

__all__ = [
    'MAX_CLAMP_VALUE', 'BiAttentionBlock', 'BiMultiHeadAttention',
    'DyHeadBlock', 'DyReLU', 'TextEncoderLayer'
]
