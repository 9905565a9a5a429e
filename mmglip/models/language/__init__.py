from .bert import BertLanguageBackbone, load_tokenizer

__all__ = ['BertLanguageBackbone', 'load_tokenizer']
