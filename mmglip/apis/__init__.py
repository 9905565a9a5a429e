from .inference import (MODEL_NAMES, inference, init_model, list_images,
                        load_weights, resolve_config)

__all__ = [
    'MODEL_NAMES', 'inference', 'init_model', 'list_images', 'load_weights',
    'resolve_config'
]
