from .vl_atss_head import (VLATSSHead, token_sigmoid_focal_loss,
                           tokens_to_class_scores)

__all__ = ['VLATSSHead', 'token_sigmoid_focal_loss', 'tokens_to_class_scores']
