"""mmglip models; importing this registers them in ``mmglip.registry``."""
from .backbones import *  # noqa: F401,F403
from .dense_heads import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .language import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
