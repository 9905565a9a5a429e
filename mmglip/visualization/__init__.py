"""Drawing predictions on images (built on MMDetection's visualizer)."""
from .draw import (BoxDrawing, DrawingPlan, LabelPart, class_palette,
                   draw_predictions, group_same_boxes, plan_drawing)

__all__ = [
    'draw_predictions', 'plan_drawing', 'class_palette', 'group_same_boxes',
    'DrawingPlan', 'BoxDrawing', 'LabelPart'
]
