from .inference import (MODEL_NAMES, ImageResult, inference, init_model,
                        iter_inference, list_images, load_weights,
                        read_checkpoint, resolve_config)

__all__ = [
    'MODEL_NAMES', 'ImageResult', 'inference', 'init_model',
    'iter_inference', 'list_images', 'load_weights', 'read_checkpoint',
    'resolve_config'
]
