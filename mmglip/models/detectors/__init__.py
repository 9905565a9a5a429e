from .glip import GLIP

__all__ = ['GLIP']
