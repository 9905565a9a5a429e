"""Drawing predictions on images (built on MMDetection's visualizer)."""
from .draw import class_palette, draw_predictions, group_same_boxes

__all__ = ['draw_predictions', 'class_palette', 'group_same_boxes']
