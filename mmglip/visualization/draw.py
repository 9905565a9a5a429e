"""Draw GLIP predictions on an image with MMDetection's visualizer.

:func:`draw_predictions` takes the prediction dict that ``tools/infer.py``
writes to JSON (``bboxes``, ``labels``, ``label_names``, ``scores``) and
draws it with :class:`mmdet.visualization.DetLocalVisualizer`:

* one colour per class, taken from MMDetection's palette for the full list
  of prompt names, so a class keeps its colour across images;
* the label text on a filled box in the class colour;
* boxes that are (nearly) the same box predicted for several phrases --
  GLIP does this often -- get one outline and one combined label,
  ``"raccoon 0.91 | dog 0.42"``, instead of labels drawn over each other;
* a label that would leave the image at the top goes inside its box.

Example::

    from mmglip.visualization import draw_predictions
    rgb = draw_predictions('demo.jpg', pred, out_path='vis/demo.jpg',
                           class_names=['raccoon', 'dog'])
"""
import os
import os.path as osp
import threading
import uuid
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ['draw_predictions', 'class_palette', 'group_same_boxes']

#: boxes whose IoU is above this are drawn as one box with one label
SAME_BOX_IOU = 0.95
#: separator between the labels of one box
LABEL_SEP = ' | '

_local = threading.local()


def _visualizer():
    """One DetLocalVisualizer per thread, made directly (not through
    ``get_instance``): it is not entered in mmengine's global instance
    registry, so it can neither clash with an existing instance name nor
    become the "current" visualizer that a Runner's hooks pick up."""
    vis = getattr(_local, 'visualizer', None)
    if vis is None:
        from mmdet.visualization import DetLocalVisualizer
        vis = DetLocalVisualizer(
            name=f'mmglip_draw_predictions_{uuid.uuid4().hex}')
        _local.visualizer = vis
    return vis


def class_palette(num_classes: int) -> List[Tuple[int, int, int]]:
    """RGB colours (0-255) for class indices ``0 .. num_classes - 1``.

    MMDetection's ``'random'`` palette (``get_palette``, fixed seed), as
    its visualizer uses for datasets without their own palette. Colour ``i``
    depends only on ``i``, so a class keeps its colour as long as its index
    in the prompt does.
    """
    from mmdet.visualization.palette import get_palette
    num_classes = max(int(num_classes), 1)
    return [tuple(int(c) for c in color)
            for color in get_palette('random', num_classes)]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12),
                    (np.abs(boxes - box).max(axis=1) == 0).astype(float))


def group_same_boxes(bboxes: np.ndarray, scores: np.ndarray,
                     iou_thr: float = SAME_BOX_IOU) -> List[List[int]]:
    """Group the indices of boxes that are the same box.

    Greedy by score: the highest-scoring box not yet grouped starts a group
    and takes every other ungrouped box with IoU above ``iou_thr`` with it.
    Each group lists its indices from the highest score down; groups are
    ordered from the lowest top score up (the drawing order, so the best
    box ends on top).
    """
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind='stable')
    free = np.ones(len(bboxes), dtype=bool)
    groups = []
    for i in order:
        if not free[i]:
            continue
        members = order[free[order]]
        same = _iou(bboxes[i], bboxes[members]) > iou_thr
        group = [int(j) for j in members[same]]
        if int(i) not in group:  # a degenerate box is always its own group
            group.insert(0, int(i))
        free[group] = False
        groups.append(group)
    return groups[::-1]


def _load_rgb(image: Union[str, os.PathLike, np.ndarray]) -> np.ndarray:
    if isinstance(image, (str, os.PathLike)):
        import mmcv
        from mmglip.utils.images import ImageError
        path = os.fspath(image)
        if not osp.isfile(path):
            raise ImageError(path, 'no such file')
        try:
            img = mmcv.imread(path)  # BGR, None when it cannot decode
        except Exception as exc:  # noqa: BLE001 (every decoder failure)
            raise ImageError(path, f'{type(exc).__name__}: {exc}') from exc
        if img is None:
            raise ImageError(path, 'not an image in a format OpenCV knows')
        return mmcv.bgr2rgb(img)
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError('image must be a path or an H x W x 3 RGB array, '
                         f'got an array of shape {img.shape}')
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img[..., :3])


def _as_array(value, dtype, shape=(-1, )) -> np.ndarray:
    if value is None:
        return np.zeros((0, ) + tuple(shape[1:]), dtype=dtype)
    if hasattr(value, 'detach'):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=dtype).reshape(shape)


def _text_color(rgb: Sequence[int]) -> Tuple[int, int, int]:
    """Black or white, whichever reads better on ``rgb``."""
    r, g, b = (float(c) for c in rgb)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return (0, 0, 0) if luma > 150 else (255, 255, 255)


def _write_atomic(path: str, rgb: np.ndarray) -> None:
    """Encode ``rgb`` by the extension of ``path`` and write it whole or not
    at all (:func:`mmglip.utils.io.atomic_write`)."""
    import cv2

    from mmglip.utils.io import atomic_write
    path = os.fspath(path)
    ext = osp.splitext(path)[1]
    ok, data = (False, None)
    if ext:
        try:
            ok, data = cv2.imencode(ext, np.ascontiguousarray(rgb[..., ::-1]))
        except cv2.error:
            ok = False
    if not ok:
        raise ValueError(f'{path}: cannot write an image with extension '
                         f'"{ext}"; use .jpg, .png, .bmp, ...')
    with atomic_write(path, 'wb') as f:
        f.write(data.tobytes())


def draw_predictions(image: Union[str, os.PathLike, np.ndarray],
                     pred: Dict,
                     out_path: Optional[Union[str, os.PathLike]] = None,
                     class_names: Optional[Sequence[str]] = None
                     ) -> np.ndarray:
    """Draw detections on an image; returns the drawn image as RGB.

    Args:
        image: an image file (read with ``mmcv.imread`` as the inference
            pipeline reads it, EXIF rotation included), or an ``H x W x 3``
            ``uint8`` array in **RGB** order (a grey ``H x W`` array is
            accepted too). An array from ``mmcv.imread`` / ``cv2.imread``
            is BGR: pass ``mmcv.bgr2rgb(img)``.
        pred: the prediction dict ``tools/infer.py`` writes:
            ``bboxes`` (``x1, y1, x2, y2`` in pixels of the original image),
            ``labels`` (class indices into ``class_names``), ``label_names``
            and ``scores`` (lists, arrays or tensors). ``labels``,
            ``label_names`` and ``scores`` may each be missing: the text
            then falls back to ``class_names[label]`` or ``class <label>``,
            and the score is left out.
        out_path: if given, the drawn image is also written here (format by
            extension; the folder is made; written to a temporary file in
            the same folder and renamed, so it is never half-written).
        class_names: every prompt name, in prompt order. It fixes the
            palette (one colour per class index) so a class has the same
            colour in every image. Without it the palette covers the
            largest label drawn.

    Returns:
        np.ndarray: ``H x W x 3`` ``uint8`` RGB image, the size of the
        input. Without any box it equals the input image.

    Boxes with IoU above 0.95 are drawn once, in the colour of the best
    scoring class, with one label joining the classes from the best score
    down (``"raccoon 0.91 | dog 0.42"``). Labels sit above their box, or
    inside it when there is no room above.

    Each thread draws with its own visualizer, so threads may call this
    at the same time.
    """
    img = _load_rgb(image)
    height, width = img.shape[:2]
    bboxes = _as_array(pred.get('bboxes'), np.float64, (-1, 4))
    num = len(bboxes)
    if num == 0:
        if out_path is not None:
            _write_atomic(out_path, img)
        return img.copy()

    scores = pred.get('scores')
    has_scores = scores is not None and len(scores) == num
    scores = _as_array(scores, np.float64) if has_scores else np.zeros(num)
    names = pred.get('label_names')
    names = list(names) if names is not None and len(names) == num else None
    labels = pred.get('labels')
    if labels is not None and len(labels) == num:
        labels = _as_array(labels, np.int64)
    elif names is not None and class_names is not None:
        index = {n: i for i, n in enumerate(class_names)}
        labels = np.array([index.get(n, -1) for n in names], dtype=np.int64)
        # names not in the prompt: colours after the prompt's
        unknown = sorted({n for n in names if n not in index})
        for i, n in enumerate(names):
            if labels[i] < 0:
                labels[i] = len(class_names) + unknown.index(n)
    else:
        labels = np.zeros(num, dtype=np.int64)
    if names is None:
        names = [
            class_names[lb] if class_names is not None
            and 0 <= lb < len(class_names) else f'class {lb}'
            for lb in labels.tolist()
        ]

    num_colors = max(len(class_names or ()), int(labels.max()) + 1)
    palette = class_palette(num_colors)

    # boxes inside the image, corners in order
    x1 = np.clip(np.minimum(bboxes[:, 0], bboxes[:, 2]), 0, width)
    x2 = np.clip(np.maximum(bboxes[:, 0], bboxes[:, 2]), 0, width)
    y1 = np.clip(np.minimum(bboxes[:, 1], bboxes[:, 3]), 0, height)
    y2 = np.clip(np.maximum(bboxes[:, 1], bboxes[:, 3]), 0, height)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    groups = group_same_boxes(boxes, scores)

    vis = _visualizer()
    vis.set_image(img)
    dpi = vis.dpi
    diag = float(np.sqrt(height * width))
    line_width = float(np.clip(diag / 250, 1.5, 6))  # points
    font_size = float(np.clip(diag / 45, 7, 30))  # points
    pad = 0.3  # of the font size, around the text
    line_px = line_width * dpi / 72
    text_h = font_size * dpi / 72 * (1.25 + 2 * pad)

    out_boxes, box_colors = [], []
    texts, positions, valigns, haligns, text_colors, backs = (
        [] for _ in range(6))
    for group in groups:
        top = group[0]
        color = palette[labels[top]]
        out_boxes.append(boxes[top])
        box_colors.append(color)
        seen, parts = set(), []
        for j in group:
            if names[j] in seen:
                continue
            seen.add(names[j])
            parts.append(f'{names[j]} {scores[j]:.2f}'
                         if has_scores else str(names[j]))
        text = LABEL_SEP.join(parts)
        bx1, by1, bx2, _ = boxes[top]
        # above the box, or inside it near the top edge of the image
        pad_px = pad * font_size * dpi / 72
        if by1 - line_px / 2 - text_h >= 0:
            y, valign = by1 - line_px / 2 - pad_px, 'bottom'
        else:
            y, valign = by1 + line_px / 2 + pad_px, 'top'
        # rough width; anchor at the right when it would leave the image
        est_w = font_size * dpi / 72 * (0.6 * len(text) + 2 * pad)
        if bx1 + est_w > width and bx2 - est_w >= 0:
            x, halign = bx2 - pad_px, 'right'
        else:
            x, halign = bx1 + pad_px, 'left'
        texts.append(text)
        positions.append((x, y))
        valigns.append(valign)
        haligns.append(halign)
        text_colors.append(_text_color(color))
        backs.append(
            dict(facecolor=tuple(c / 255 for c in color), alpha=1.0,
                 pad=pad * font_size, edgecolor='none'))  # pad in points

    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Warning: The .* out of '
                                'bounds')
        vis.draw_bboxes(np.array(out_boxes), edge_colors=box_colors,
                        line_widths=line_width, alpha=1.0)
        vis.draw_texts(texts, np.array(positions, dtype=np.float64),
                       font_sizes=font_size, colors=text_colors,
                       vertical_alignments=valigns,
                       horizontal_alignments=haligns, bboxes=backs)
    drawn = vis.get_image()
    if drawn.shape[:2] != (height, width):  # guard against canvas rounding
        import cv2
        drawn = cv2.resize(drawn, (width, height),
                           interpolation=cv2.INTER_NEAREST)
    vis.set_image(np.zeros((1, 1, 3), np.uint8))  # drop the image held
    if out_path is not None:
        _write_atomic(out_path, drawn)
    return drawn
