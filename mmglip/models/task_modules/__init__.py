from .glip_box_coder import GLIPBoxCoder

__all__ = ['GLIPBoxCoder']
