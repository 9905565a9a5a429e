"""Where GLIP predictions are drawn (:func:`plan_drawing`, rules in
:mod:`mmglip.visualization.draw`), the class colours and the visualizer
that measures and draws the text."""
import threading
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: boxes whose IoU is above this are drawn as one box with one label
SAME_BOX_IOU = 0.95
#: pixels between the parts of one label (each on its class colour)
PART_GAP = 1

RGB = Tuple[int, int, int]
Rect = Tuple[int, int, int, int]

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


@dataclass
class LabelPart:
    """One class's part of a box's label: its text on its class colour.
    ``rect`` is ``x1, y1, x2, y2`` in pixel edges (the part covers columns
    ``x1 .. x2 - 1``, rows ``y1 .. y2 - 1``)."""
    text: str
    rect: Rect
    color: RGB
    text_color: RGB
    baseline: int


@dataclass
class BoxDrawing:
    """A box as drawn: the predictions it stands for (best first), its
    outline colour (the best one's class), its label's parts and the rect
    around them (``None``: no free place was left for the label), and the
    line joining a label placed away from its box (``None``: it touches)."""
    box: Tuple[float, float, float, float]
    color: RGB
    indices: List[int]
    label: Optional[Rect] = None
    parts: List[LabelPart] = field(default_factory=list)
    leader: Optional[Tuple[Tuple[float, float], Tuple[float, float]]] = None


@dataclass
class DrawingPlan:
    """Everything :func:`draw_predictions` draws, in drawing order (the
    best box last, on top)."""
    width: int
    height: int
    font_size: float  # points
    line_width: float  # points
    boxes: List[BoxDrawing]


class _TextSize:
    """Pixel sizes of text as the visualizer's matplotlib draws it."""

    def __init__(self, font_size: float, dpi: float):
        from matplotlib.backends.backend_agg import RendererAgg
        from matplotlib.font_manager import FontProperties
        self.renderer = RendererAgg(8, 8, dpi)
        self.prop = FontProperties(family='sans-serif', size=font_size)
        _, height, descent = self._measure('Agjy|')
        self.ascent = int(np.ceil(height - descent))
        self.height = int(np.ceil(height))
        self._cache: Dict[str, int] = {}

    def _measure(self, text: str):
        return self.renderer.get_text_width_height_descent(
            text, self.prop, ismath=False)

    def width(self, text: str) -> int:
        if text not in self._cache:
            self._cache[text] = int(np.ceil(self._measure(text)[0]))
        return self._cache[text]


def _fit_text(name: str, tail: str, max_width: int,
              size: _TextSize) -> str:
    """``name + tail``, the name cut with "..." until it is at most
    ``max_width`` wide (the tail, e.g. the score, is kept); ``''`` when
    not even "..." and the tail fit."""
    if size.width(name + tail) <= max_width:
        return name + tail
    lo, hi = -1, len(name)  # the longest prefix that fits (-1: none)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if size.width(name[:max(mid, 0)].rstrip() + '...' + tail) \
                <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return name[:lo].rstrip() + '...' + tail if lo >= 0 else ''


def _label_rows(parts: Sequence[Tuple[str, str, RGB]], max_width: int,
                size: _TextSize,
                pad: int) -> List[List[Tuple[str, int, RGB]]]:
    """The parts (name, tail, colour) of one label as rows of (text,
    width, colour) at most ``max_width`` wide, in order; a part wider than
    that has its name cut."""
    rows: List[List[Tuple[str, int, RGB]]] = [[]]
    used = 0
    for name, tail, color in parts:
        text = _fit_text(name, tail, max_width - 2 * pad, size)
        if not text:
            continue
        w = size.width(text) + 2 * pad
        if rows[-1] and used + PART_GAP + w > max_width:
            rows.append([])
            used = 0
        used += (PART_GAP if rows[-1] else 0) + w
        rows[-1].append((text, w, color))
    return [row for row in rows if row]


def _free(cands: np.ndarray, w: int, h: int, taken: np.ndarray,
          g: int) -> np.ndarray:
    """Which candidate top-left corners ``cands`` [M, 2] leave a ``w x h``
    rect at least ``g`` pixels away from every rect of ``taken`` [N, 4]."""
    if len(taken) == 0:
        return np.ones(len(cands), dtype=bool)
    x, y = cands[:, :1], cands[:, 1:]
    hit = ((x < taken[None, :, 2] + g) & (x + w + g > taken[None, :, 0]) &
           (y < taken[None, :, 3] + g) & (y + h + g > taken[None, :, 1]))
    return ~hit.any(axis=1)


def _place(w: int, h: int, box: Sequence[float], half_line: int,
           width: int, height: int, step: int, taken: np.ndarray,
           gap: int, anywhere: bool) -> Optional[Tuple[int, int]]:
    """Top-left corner of a free ``w x h`` place for the label of ``box``
    (see the module docstring for the order), or ``None``. Without
    ``anywhere`` only the places next to the box are tried."""
    x1, y1, x2, y2 = box
    lefts = [int(np.floor(x1)) - half_line, int(np.ceil(x2)) + half_line - w]
    tops = [int(np.floor(y1)) - half_line - h,  # above
            int(np.floor(y1)) + half_line,  # inside, at the top
            int(np.ceil(y2)) + half_line,  # below
            int(np.ceil(y2)) - half_line - h]  # inside, at the bottom
    near = [(lefts[0], tops[0]), (lefts[0], tops[1]), (lefts[1], tops[0]),
            (lefts[1], tops[1])] + [(x, y) for y in tops[2:] for x in lefts]
    near = np.array(near, dtype=np.int64)
    near[:, 0] = np.clip(near[:, 0], 0, width - w)
    near[:, 1] = np.clip(near[:, 1], 0, height - h)
    free = _free(near, w, h, taken, gap)
    if free.any():
        return tuple(int(v) for v in near[int(np.argmax(free))])
    if not anywhere:
        return None
    # anywhere, nearest to the place above the box first: a grid, and the
    # places that touch a label's edge (where a free place exists, one of
    # those is free: slide it left, then up, until it touches something)
    xs = np.r_[np.arange(0, width - w + 1, step), width - w, near[:, 0],
               taken[:, 2] + gap, taken[:, 0] - gap - w]
    ys = np.r_[np.arange(0, height - h + 1, step), height - h, near[:, 1],
               taken[:, 3] + gap, taken[:, 1] - gap - h]
    xs = np.unique(xs[(xs >= 0) & (xs <= width - w)])
    ys = np.unique(ys[(ys >= 0) & (ys <= height - h)])
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    grid = grid[_free(grid, w, h, taken, gap)]
    if len(grid) == 0:
        return None
    cost = np.abs(grid - near[0]).sum(axis=1)
    return tuple(int(v) for v in grid[int(np.argmin(cost))])


def _leader(rect: Rect, box: Sequence[float], reach: float):
    """The line from a label to its box where the label does not touch
    the box's outline (within ``reach`` pixels), else ``None``."""
    rx1, ry1, rx2, ry2 = rect
    x1, y1, x2, y2 = box
    cx, cy = (rx1 + rx2) / 2, (ry1 + ry2) / 2
    inside = x1 <= rx1 and rx2 <= x2 and y1 <= ry1 and ry2 <= y2
    if inside:  # to the nearest side of the outline
        gaps = [rx1 - x1, x2 - rx2, ry1 - y1, y2 - ry2]
        side = int(np.argmin(gaps))
        if gaps[side] <= reach:
            return None
        bx = (x1, x2, cx, cx)[side]
        by = (cy, cy, y1, y2)[side]
    else:
        overlap = rx1 < x2 and x1 < rx2 and ry1 < y2 and y1 < ry2
        if overlap:  # it crosses the outline
            return None
        bx, by = float(np.clip(cx, x1, x2)), float(np.clip(cy, y1, y2))
        if max(rx1 - bx, bx - rx2, ry1 - by, by - ry2) <= reach:
            return None
    lx, ly = float(np.clip(bx, rx1, rx2)), float(np.clip(by, ry1, ry2))
    return (lx, ly), (float(bx), float(by))


def plan_drawing(image_shape: Sequence[int], pred: Dict,
                 class_names: Optional[Sequence[str]] = None,
                 dpi: Optional[float] = None) -> DrawingPlan:
    """Where :func:`draw_predictions` draws each box and label on an image
    of ``image_shape`` (``H, W[, C]``); ``pred`` and ``class_names`` as
    there. ``dpi``: the visualizer's (default: the one it draws with)."""
    height, width = int(image_shape[0]), int(image_shape[1])
    bboxes = _as_array(pred.get('bboxes'), np.float64, (-1, 4))
    num = len(bboxes)
    diag = float(np.sqrt(height * width))
    line_width = float(np.clip(diag / 250, 1.5, 6))  # points
    font_size = float(np.clip(diag / 45, 7, 30))  # points
    plan = DrawingPlan(width, height, font_size, line_width, [])
    if num == 0:
        return plan

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

    if dpi is None:
        dpi = _visualizer().dpi
    size = _TextSize(font_size, dpi)
    px = dpi / 72
    pad = max(1, int(round(0.25 * font_size * px)))
    row_h = size.height + 2 * pad
    gap = max(2, pad)  # between two labels: more than between parts
    half_line = int(np.ceil(line_width * px / 2))
    taken = np.zeros((0, 4), dtype=np.int64)
    drawn = {}
    for group in reversed(groups):  # the best box first takes its place
        top = group[0]
        item = BoxDrawing(tuple(float(v) for v in boxes[top]),
                          palette[labels[top]], list(group))
        drawn[top] = item
        seen, parts = set(), []
        for j in group:  # one part per class, best first
            if names[j] in seen:
                continue
            seen.add(names[j])
            tail = f' {scores[j]:.2f}' if has_scores else ''
            parts.append((str(names[j]), tail, palette[labels[j]]))
        # the whole label; where it finds no room, the best class alone
        # ("+N": N more classes), then that cut to a third and a fifth of
        # the image width; each first at the places next to the box, then
        # anywhere (the nearest free place)
        name, tail, color = parts[0]
        more = f' +{len(parts) - 1}' if len(parts) > 1 else ''
        best = [(name, tail + more, color)]
        variants = [(parts, width)] + ([(best, width)] if more else []) + \
            [(best, width // 3), (best, width // 5)]
        sized = []
        for variant, max_width in variants:
            rows = _label_rows(variant, max_width, size, pad)
            rows = rows[:max(0, height // row_h)]  # rows that fit
            if rows:
                w = max(sum(pw for _, pw, _ in row) + PART_GAP *
                        (len(row) - 1) for row in rows)
                sized.append((rows, w, row_h * len(rows)))
        corner = None
        for anywhere in (False, True):
            for rows, w, h in sized:
                corner = _place(w, h, item.box, half_line, width, height,
                                max(2, row_h // 2), taken, gap, anywhere)
                if corner is not None:
                    break
            if corner is not None:
                break
        if corner is None:
            continue
        lx, ly = corner
        item.label = (lx, ly, lx + w, ly + h)
        taken = np.vstack([taken, np.array([item.label])])
        for r, row in enumerate(rows):
            x, y = lx, ly + r * row_h
            for text, pw, color in row:
                item.parts.append(LabelPart(
                    text, (x, y, x + pw, y + row_h), color,
                    _text_color(color), y + pad + size.ascent))
                x += pw + PART_GAP
        item.leader = _leader(item.label, item.box, 2 * half_line + 1)
    plan.boxes = [drawn[g[0]] for g in groups]
    return plan


__all__ = ['plan_drawing', 'class_palette', 'group_same_boxes',
           'DrawingPlan', 'BoxDrawing', 'LabelPart']
