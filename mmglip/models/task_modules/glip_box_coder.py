"""Box coder with the official GLIP (maskrcnn-benchmark) pixel convention."""
import math
from typing import Optional, Sequence

import torch
from mmdet.models.task_modules.coders.base_bbox_coder import BaseBBoxCoder
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor

from mmglip.registry import TASK_UTILS


@TASK_UTILS.register_module()
class GLIPBoxCoder(BaseBBoxCoder):
    """(dx, dy, dw, dh) deltas, weights (10, 10, 5, 5) = 1 / stds
    (0.1, 0.1, 0.2, 0.2), with the official "+1" pixel convention.

    The one home of that convention (official ``TO_REMOVE = 1``): a box
    ``[x1, y1, x2, y2]`` of the official code is *inclusive* (its last pixel
    is ``x2``), one of mmdet's is ``x2``-exclusive; the two differ by
    :attr:`TO_REMOVE` on ``x2, y2``.

    Boxes come in mmdet's convention (``x2`` exclusive). mmdet's anchor
    generator with ``center_offset=0.5`` gives ``[s*i - 28, s*i + 36]`` for
    stride 8; read as the official inclusive box ``[x1, x2 - 1]`` that is
    width ``x2 - x1`` and centre ``(x1 + x2 - 1) / 2``, exactly the official
    anchor. :meth:`decode` returns official *inclusive* boxes (clipped as the
    official code clips); :meth:`to_exclusive` turns them into mmdet's
    convention: for the GIoU loss, and for detections after rescaling (as
    the official COCO json export adds 1 to ``x2, y2``).

    Args:
        weights: (wx, wy, ww, wh).
        clip_ratio: upper clamp of dw, dh (official: log(1000 / 16)); the
            official coder clamps only from above.
    """
    encode_size = 4
    #: official GLIP's pixel offset: inclusive x2 / y2 = exclusive - 1
    TO_REMOVE = 1

    def __init__(self, weights: Sequence[float] = (10., 10., 5., 5.),
                 clip_ratio: float = math.log(1000. / 16), **kwargs):
        super().__init__(**kwargs)
        self.weights = tuple(weights)
        self.clip_ratio = clip_ratio

    @classmethod
    def _ctr_size(cls, boxes: Tensor):
        """Official centre and size of x2-exclusive boxes."""
        size = boxes[:, 2:] - boxes[:, :2]
        ctr = (boxes[:, :2] + boxes[:, 2:] - cls.TO_REMOVE) * 0.5
        return ctr, size

    @classmethod
    def to_exclusive(cls, boxes: Tensor) -> Tensor:
        """Inclusive boxes [N, 4] (from :meth:`decode`) -> x2-exclusive
        (mmdet's convention): ``x2, y2`` + :attr:`TO_REMOVE`. A new tensor;
        gradients flow."""
        return torch.cat([boxes[:, :2], boxes[:, 2:] + cls.TO_REMOVE], dim=1)

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """Anchors [N, 4], gt [N, 4] (both x2-exclusive) -> deltas [N, 4]."""
        bboxes, gt_bboxes = get_box_tensor(bboxes), get_box_tensor(gt_bboxes)
        a_ctr, a_size = self._ctr_size(bboxes)
        g_ctr, g_size = self._ctr_size(gt_bboxes)
        w = bboxes.new_tensor(self.weights)
        d_ctr = w[:2] * (g_ctr - a_ctr) / a_size
        d_size = w[2:] * torch.log(g_size / a_size)
        return torch.cat([d_ctr, d_size], dim=1)

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor,
               max_shape: Optional[Sequence[int]] = None) -> Tensor:
        """Anchors [N, 4] + deltas [N, 4] -> inclusive boxes [N, 4], clipped
        to ``[0, W - 1] x [0, H - 1]`` when ``max_shape`` (H, W) is given."""
        bboxes = get_box_tensor(bboxes).to(pred_bboxes.dtype)
        a_ctr, a_size = self._ctr_size(bboxes)
        w = pred_bboxes.new_tensor(self.weights)
        d_ctr = pred_bboxes[:, :2] / w[:2]
        d_size = (pred_bboxes[:, 2:] / w[2:]).clamp(max=self.clip_ratio)
        ctr = d_ctr * a_size + a_ctr
        size = torch.exp(d_size) * a_size
        half = 0.5 * (size - self.TO_REMOVE)
        boxes = torch.cat([ctr - half, ctr + half], dim=1)
        if max_shape is not None:
            last_x = max_shape[1] - self.TO_REMOVE
            last_y = max_shape[0] - self.TO_REMOVE
            boxes[:, 0::2] = boxes[:, 0::2].clamp(min=0, max=last_x)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(min=0, max=last_y)
        return boxes
