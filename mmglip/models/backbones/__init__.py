from .efficientnet_lite import EfficientNetLite0, EfficientNetLite0Classifier

__all__ = ['EfficientNetLite0', 'EfficientNetLite0Classifier']
