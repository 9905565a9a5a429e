"""mmglip: GLIP (Grounded Language-Image Pre-training) on MMDetection 3.3."""
from .version import __version__
from .utils.setup_env import register_all_modules

__all__ = ['__version__', 'register_all_modules']
