from .bert import BertLanguageBackbone

__all__ = ['BertLanguageBackbone']
