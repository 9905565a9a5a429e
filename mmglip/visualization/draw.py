"""Draw GLIP predictions on an image with MMDetection's visualizer.

:func:`draw_predictions` takes the prediction dict that ``tools/infer.py``
writes to JSON (``bboxes``, ``labels``, ``label_names``, ``scores``) and
draws it with :class:`mmdet.visualization.DetLocalVisualizer`:

* one colour per class, taken from MMDetection's palette for the full list
  of prompt names, so a class keeps its colour across images;
* boxes that are (nearly) the same box predicted for several phrases --
  GLIP does this often -- get one outline, in the colour of the best
  scoring class, and one label with a part per class (``raccoon 0.91``,
  ``dog 0.42``), each part on its own class colour;
* labels never overlap each other and never leave the image. The best
  box's label is placed first, each at the first free place of: above its
  box, inside it at the top, the same at the box's right edge, below it,
  inside at the bottom. A label wider than the image wraps its parts onto
  rows (a name wider than the image is cut with "...", its score kept).
  Where the whole label finds no such place, the best class alone is
  tried (``"raccoon 0.91 +2"``: two more classes), then that cut to a
  third and a fifth of the image width; then the same, at the free place
  nearest to the box, joined to it by a thin line in the box colour. A
  label that finds no free place at all (a very crowded small image) is
  left out; its box is still drawn. :func:`plan_drawing` returns where
  everything goes.

Example::

    from mmglip.visualization import draw_predictions
    rgb = draw_predictions('demo.jpg', pred, out_path='vis/demo.jpg',
                           class_names=['raccoon', 'dog'])
"""
import os
import os.path as osp
import warnings
from typing import Dict, Optional, Sequence, Union

import numpy as np

from .layout import (BoxDrawing, DrawingPlan, LabelPart,  # noqa: F401
                     _visualizer, class_palette, group_same_boxes,
                     plan_drawing)

__all__ = [
    'draw_predictions', 'plan_drawing', 'class_palette', 'group_same_boxes',
    'DrawingPlan', 'BoxDrawing', 'LabelPart'
]


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

    Boxes with IoU above 0.95 are drawn once, outlined in the colour of
    the best scoring class, with one label whose parts (``raccoon 0.91``,
    ``dog 0.42``, best first) each sit on their own class colour. Labels
    are placed so that they neither overlap nor leave the image (see the
    module docstring; :func:`plan_drawing` gives the places).

    Each thread draws with its own visualizer, so threads may call this
    at the same time.
    """
    img = _load_rgb(image)
    height, width = img.shape[:2]
    vis = _visualizer()
    plan = plan_drawing(img.shape, pred, class_names, dpi=vis.dpi)
    if not plan.boxes:
        if out_path is not None:
            _write_atomic(out_path, img)
        return img.copy()

    vis.set_image(img)
    parts = [p for b in plan.boxes for p in b.parts]
    leaders = [b for b in plan.boxes if b.leader is not None]
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Warning: The .* out of '
                                'bounds')
        vis.draw_bboxes(np.array([b.box for b in plan.boxes]),
                        edge_colors=[b.color for b in plan.boxes],
                        line_widths=plan.line_width, alpha=1.0)
        for b in leaders:
            (lx, ly), (bx, by) = b.leader
            vis.draw_lines(np.array([lx, bx]), np.array([ly, by]),
                           colors=[b.color],
                           line_widths=max(plan.line_width / 2, 72 / vis.dpi))
        if parts:
            vis.draw_bboxes(np.array([p.rect for p in parts], np.float64),
                            edge_colors=[p.color for p in parts],
                            face_colors=[p.color for p in parts],
                            line_widths=0, alpha=1.0)
            vis.draw_texts(
                # "$" would start matplotlib's math mode
                [p.text.replace('$', r'\$') for p in parts],
                np.array([(p.rect[0] + (p.rect[2] - p.rect[0]) / 2,
                           p.baseline) for p in parts], np.float64),
                font_sizes=plan.font_size,
                colors=[p.text_color for p in parts],
                vertical_alignments='baseline',
                horizontal_alignments='center')
    drawn = vis.get_image()
    if drawn.shape[:2] != (height, width):  # guard against canvas rounding
        import cv2
        drawn = cv2.resize(drawn, (width, height),
                           interpolation=cv2.INTER_NEAREST)
    vis.set_image(np.zeros((1, 1, 3), np.uint8))  # drop the image held
    if out_path is not None:
        _write_atomic(out_path, drawn)
    return drawn
