from .bi_attention import (MAX_CLAMP_VALUE, BiAttentionBlock,
                           BiMultiHeadAttention)
from .dyhead_block import GLIPDyHeadBlock, GLIPDyReLU
from .text_encoder_layer import TextEncoderLayer

__all__ = [
    'MAX_CLAMP_VALUE', 'BiAttentionBlock', 'BiMultiHeadAttention',
    'GLIPDyHeadBlock', 'GLIPDyReLU', 'TextEncoderLayer'
]
