from .bert import BertLanguageBackbone, load_tokenizer
from .features import LanguageFeatures, TokenIds

__all__ = [
    'BertLanguageBackbone', 'LanguageFeatures', 'TokenIds', 'load_tokenizer'
]
