"""draw_predictions on a real image: sizes, class colours, combined labels
of GLIP's same-box predictions, label placement and the written file."""
import os

import mmcv
import numpy as np
import pytest

from mmglip.visualization import (class_palette, draw_predictions,
                                  group_same_boxes, plan_drawing)
from ..conftest import DEMO_DATA, SHARED_DATA, require_shared

IMAGE = DEMO_DATA / 'raccoon_mini/valid/raccoon-143.jpg'
NAMES = ['raccoon', 'dog', 'garbage bin']


@pytest.fixture(scope='module')
def rgb():
    img = mmcv.imread(str(IMAGE), channel_order='rgb')
    assert img is not None and img.shape[2] == 3
    return img


def _near(img, color, tol=3):
    """Mask of the pixels within ``tol`` of ``color`` in every channel."""
    diff = np.abs(img.astype(int) - np.array(color, dtype=int))
    return (diff <= tol).all(axis=2)


def _closest(img, x, y, color, r=1):
    """Smallest channel distance to ``color`` around pixel (x, y)."""
    patch = img[y - r:y + r + 1, x - r:x + r + 1].astype(int)
    return np.abs(patch - np.array(color, dtype=int)).max(axis=2).min()


def _pred(boxes, labels, scores):
    return dict(bboxes=boxes, labels=labels,
                label_names=[NAMES[i] for i in labels], scores=scores)


def test_output_has_the_image_size_for_a_path_and_an_array(rgb):
    pred = _pred([[30, 60, 200, 180]], [0], [0.9])
    from_path = draw_predictions(IMAGE, pred, class_names=NAMES)
    from_array = draw_predictions(rgb, pred, class_names=NAMES)
    assert from_path.shape == rgb.shape and from_path.dtype == np.uint8
    # arrays are RGB, read the same way as a path
    np.testing.assert_array_equal(from_path, from_array)
    assert not np.array_equal(from_path, rgb)  # something was drawn


def test_box_outlines_have_their_class_colour(rgb):
    palette = class_palette(len(NAMES))
    assert len(set(palette)) == len(NAMES)
    boxes = [[20, 70, 110, 180], [140, 70, 240, 180]]
    out = draw_predictions(rgb, _pred(boxes, [0, 1], [0.9, 0.8]),
                           class_names=NAMES)
    for (x1, y1, x2, y2), label in zip(boxes, [0, 1]):
        for x, y in [(x1, (y1 + y2) // 2), (x2, (y1 + y2) // 2),
                     ((x1 + x2) // 2, y2)]:
            assert _closest(out, x, y, palette[label]) <= 8, (label, x, y)
            other = palette[1 - label]
            assert _closest(out, x, y, other) > 20, (label, x, y)
    # the colour belongs to the class index, not to the order of drawing
    swapped = draw_predictions(rgb, _pred(boxes[::-1], [1, 0], [0.8, 0.9]),
                               class_names=NAMES)
    np.testing.assert_array_equal(out, swapped)


def _runs(mask_row):
    """(first, last) column of each run of True in a row."""
    cols = np.flatnonzero(mask_row)
    if len(cols) == 0:
        return []
    cuts = np.flatnonzero(np.diff(cols) > 1)
    starts = np.r_[cols[0], cols[cuts + 1]]
    ends = np.r_[cols[cuts], cols[-1]]
    return list(zip(starts.tolist(), ends.tolist()))


def test_same_box_for_two_classes_one_outline_a_part_per_class(rgb):
    """GLIP's same box for two phrases: one outline in the best class's
    colour, one label whose parts each sit on their own class colour (the
    raccoon part as wide as a raccoon label alone, the dog part right after
    it as wide as a dog label alone)."""
    palette = class_palette(len(NAMES))
    box = [40, 80, 220, 185]
    near_same = [41, 80, 220, 186]  # IoU > 0.95
    only_raccoon = draw_predictions(rgb, _pred([box], [0], [0.91]),
                                    class_names=NAMES)
    only_dog = draw_predictions(rgb, _pred([box], [1], [0.42]),
                                class_names=NAMES)
    both = draw_predictions(
        rgb, _pred([near_same, box], [1, 0], [0.42, 0.91]),
        class_names=NAMES)
    # the outline: the raccoon's colour (the best score), not the dog's
    for x, y in [(box[0], 130), (box[2], 130), (130, box[3])]:
        assert _closest(both, x, y, palette[0]) <= 8
        assert _closest(both, x, y, palette[1]) > 20

    def label_runs(img, color):
        """Runs of ``color`` on the fullest row above the box top."""
        mask = _near(img, color) & ~_near(rgb, color)
        rows = mask[:box[1] - 3].sum(axis=1)
        row = int(np.argmax(rows))
        return row, [r for r in _runs(mask[row]) if r[1] - r[0] > 3]

    row_r, raccoon_alone = label_runs(only_raccoon, palette[0])
    _, dog_alone = label_runs(only_dog, palette[1])
    row_b, raccoon = label_runs(both, palette[0])
    dog = _runs((_near(both, palette[1]) & ~_near(rgb, palette[1]))[row_b])
    dog = [r for r in dog if r[1] - r[0] > 3]
    assert row_b == row_r and len(raccoon_alone) >= 1 and len(dog) >= 1
    # the raccoon part starts where a raccoon label alone starts and ends
    # where it ends; the dog part follows it, as wide as a dog label alone
    assert raccoon[0][0] == pytest.approx(raccoon_alone[0][0], abs=1)
    assert raccoon[-1][1] == pytest.approx(raccoon_alone[-1][1], abs=1)
    assert 0 < dog[0][0] - raccoon[-1][1] <= 3
    width_alone = dog_alone[-1][1] - dog_alone[0][0]
    assert dog[-1][1] - dog[0][0] == pytest.approx(width_alone, abs=2)


def test_group_same_boxes():
    boxes = np.array([[0, 0, 100, 100], [0, 0, 100, 101], [50, 50, 90, 90],
                      [0, 0, 100, 100]], dtype=float)
    groups = group_same_boxes(boxes, np.array([0.4, 0.9, 0.8, 0.3]))
    # best first inside a group; the best group drawn last (on top)
    assert groups == [[2], [1, 0, 3]]


def test_label_goes_inside_the_box_at_the_top_edge(rgb):
    palette = class_palette(len(NAMES))
    new = _near(rgb, palette[0])

    def label_rows(box):
        out = draw_predictions(rgb, _pred([box], [0], [0.9]),
                               class_names=NAMES)
        mask = _near(out, palette[0]) & ~new
        # columns inside the box, away from its vertical outlines; rows
        # away from its top outline
        y1 = box[1]
        full = mask[:, box[0] + 5:box[0] + 40].sum(axis=1) >= 30
        above = np.flatnonzero(full[max(y1 - 40, 0):max(y1 - 2, 0)])
        inside = np.flatnonzero(full[y1 + 2:y1 + 40])
        return len(above), len(inside)

    above, inside = label_rows([30, 0, 200, 150])
    assert above == 0 and inside > 5  # no room above: inside the box
    above, inside = label_rows([30, 100, 200, 190])
    assert above > 5 and inside == 0  # room above: above the box


def test_empty_prediction_returns_the_image_unchanged(rgb, tmp_path):
    for pred in (dict(bboxes=[], labels=[], label_names=[], scores=[]),
                 dict()):
        out = draw_predictions(IMAGE, pred, class_names=NAMES)
        np.testing.assert_array_equal(out, rgb)
    out_path = tmp_path / 'empty.png'
    draw_predictions(rgb, dict(bboxes=np.zeros((0, 4))), out_path=out_path)
    np.testing.assert_array_equal(
        mmcv.imread(str(out_path), channel_order='rgb'), rgb)


def test_out_path_is_written_atomically_and_readable(rgb, tmp_path):
    pred = _pred([[30, 60, 200, 180], [30, 60, 200, 180]], [0, 2],
                 [0.9, 0.5])
    out_path = tmp_path / 'new' / 'folder' / 'raccoon.png'
    out = draw_predictions(IMAGE, pred, out_path=out_path, class_names=NAMES)
    back = mmcv.imread(str(out_path), channel_order='rgb')
    np.testing.assert_array_equal(back, out)  # PNG: lossless
    jpg = tmp_path / 'new' / 'folder' / 'raccoon.jpg'
    draw_predictions(IMAGE, pred, out_path=str(jpg), class_names=NAMES)
    assert mmcv.imread(str(jpg)).shape == rgb.shape
    # no temporary file left behind
    assert sorted(os.listdir(out_path.parent)) == ['raccoon.jpg',
                                                   'raccoon.png']
    with pytest.raises(ValueError, match='extension'):
        draw_predictions(IMAGE, pred, out_path=tmp_path / 'noext')
    assert not (tmp_path / 'noext').exists()


def test_visualizer_stays_out_of_mmengine_global_instances(rgb):
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.visualization import Visualizer
    pred = _pred([[30, 60, 200, 180]], [0], [0.9])
    for _ in range(3):
        draw_predictions(rgb, pred, class_names=NAMES)
    for cls in (Visualizer, DetLocalVisualizer):
        assert not any('mmglip' in name for name in cls._instance_dict)


MANY = ['raccoon', 'dog', 'garbage bin', 'tree branch', 'person', 'cat',
        'bird', 'a long phrase for the fence behind the raccoon']


def _crowd(width, height, seed=0):
    """Many overlapping boxes, about half of them the same box for two or
    three phrases, three along the top edge and one at the top right
    corner with three labels."""
    rng = np.random.RandomState(seed)
    boxes, labels, scores = [], [], []

    def add(box, classes):
        for k in classes:
            boxes.append(box)
            labels.append(int(k))
            scores.append(float(rng.uniform(0.3, 0.95)))

    for _ in range(10):
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.7) * height
        bw, bh = rng.uniform(0.2, 0.5) * width, rng.uniform(0.2, 0.5) * height
        add([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2],
            rng.choice(len(MANY), rng.randint(1, 4), replace=False))
    for j in range(3):
        add([j * width / 4, 0, j * width / 4 + width / 3, height / 2], [j])
    add([width * 0.7, 0, width, height * 0.4], [7, 2, 1])
    return dict(bboxes=boxes, labels=labels, scores=scores,
                label_names=[MANY[k] for k in labels])


@pytest.mark.parametrize('image', [
    DEMO_DATA / 'raccoon_mini/train/raccoon-39.jpg',  # 250 x 172
    SHARED_DATA / 'raccoon/images/raccoon-183.jpg'])  # 2000 x 1333
def test_labels_stay_inside_the_image_and_never_overlap(image):
    """A crowded drawing on a small and a large Raccoon image: every box
    gets its label (a part per class; on the small image a box may show
    only its best class and "+N"), each label lies wholly inside the image,
    no two labels overlap, and the drawn image shows each label part on
    its class colour where the plan puts it; a box's outline has its best
    class's colour."""
    img = mmcv.imread(str(require_shared(image)), channel_order='rgb')
    height, width = img.shape[:2]
    pred = _crowd(width, height)
    plan = plan_drawing(img.shape, pred, MANY)
    out = draw_predictions(img, pred, class_names=MANY)
    palette = class_palette(len(MANY))
    # GLIP's same boxes are one drawing each: 10 + 3 + 1 boxes
    assert len(plan.boxes) == 14
    assert sorted(i for b in plan.boxes for i in b.indices) == \
        list(range(len(pred['labels'])))
    rects, compact = [], 0
    for b in plan.boxes:
        best = max(b.indices, key=lambda i: pred['scores'][i])
        assert b.color == palette[pred['labels'][best]]
        assert b.label is not None, 'a label was left out'
        x1, y1, x2, y2 = b.label
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height, b.label
        rects.append(b.label)
        # one part per class of the box, best first, each on its colour
        classes = []
        for i in sorted(b.indices, key=lambda i: -pred['scores'][i]):
            if pred['labels'][i] not in classes:
                classes.append(pred['labels'][i])
        colors = [p.color for p in b.parts]
        if len(colors) < len(classes):  # no room: the best class, "+N"
            compact += 1
            assert colors == [palette[classes[0]]]
            assert b.parts[0].text.endswith(f' +{len(classes) - 1}')
        else:
            assert colors == [palette[k] for k in classes]
        for p in b.parts:
            px1, py1, px2, py2 = p.rect
            assert x1 <= px1 < px2 <= x2 and y1 <= py1 < py2 <= y2
            inner = out[py1 + 1:py2 - 1, px1 + 1:px2 - 1]
            share = _near(inner, p.color, tol=4).mean()
            assert share > 0.5, (p.text, share)  # the rest is its text
        if b.leader is not None:  # a label away from its box: a line
            (lx, ly), (bx, by) = b.leader
            assert x1 <= lx <= x2 and y1 <= ly <= y2
            bx1, by1, bx2, by2 = b.box
            on_side = min(abs(bx - bx1), abs(bx - bx2), abs(by - by1),
                          abs(by - by2))
            assert on_side < 1e-6 and bx1 <= bx <= bx2 and by1 <= by <= by2
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or \
                b[3] <= a[1]
            assert apart, (a, b)
    # the whole labels everywhere on the large image; on the small one
    # (250 x 172 px, 14 boxes) nearly everywhere
    assert compact <= (0 if width > 1000 else 2)
    # the corner box's three labels did not run off the right edge
    corner = [b for b in plan.boxes if 7 in
              [pred['labels'][i] for i in b.indices]]
    assert corner and all(b.label[2] <= width for b in corner)
