from .dyhead_atss import DyHeadATSS, load_glip_weights
from .glip import GLIP

__all__ = ['DyHeadATSS', 'GLIP', 'load_glip_weights']
