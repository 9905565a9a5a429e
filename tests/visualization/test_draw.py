"""draw_predictions on a real image: sizes, class colours, combined labels
of GLIP's same-box predictions, label placement and the written file."""
import os

import mmcv
import numpy as np
import pytest

from mmglip.visualization import (class_palette, draw_predictions,
                                  group_same_boxes)
from ..conftest import DEMO_DATA

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


def test_same_box_for_two_classes_gets_one_combined_label(rgb):
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

    raccoon_px = [_near(img, palette[0]).sum()
                  for img in (rgb, only_raccoon, both)]
    dog_px = [_near(img, palette[1]).sum() for img in (rgb, only_dog, both)]
    # a dog label alone paints a clear patch of its colour ...
    assert dog_px[1] - dog_px[0] > 100
    # ... but with the raccoon on the same box there is no dog patch: one
    # label background, in the colour of the best class, made wider by the
    # text "raccoon 0.91 | dog 0.42"
    assert dog_px[2] - dog_px[0] < 10
    assert raccoon_px[2] - raccoon_px[1] > 100
    # the combined label is one region: on the label's middle row the
    # raccoon colour spans one run that is longer than the single label's

    def label_run(img):
        mask = _near(img, palette[0]) & ~_near(rgb, palette[0])
        # the label sits above the box: rows above its top outline
        rows = mask[:box[1] - 3].sum(axis=1)
        row = mask[int(np.argmax(rows))]
        cols = np.flatnonzero(row)
        return cols.min(), cols.max()

    single, combined = label_run(only_raccoon), label_run(both)
    assert combined[0] == pytest.approx(single[0], abs=2)
    assert combined[1] - single[1] > 40


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
