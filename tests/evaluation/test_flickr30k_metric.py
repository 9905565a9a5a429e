"""Flickr30k phrase grounding recall: glip-lite through tools/test.py on an
MDETR-format file of captions over real Aquarium images, and the metric on
ground truth, shifted and re-ranked boxes."""
import pickle

import numpy as np
import pytest
import torch

from mmglip.evaluation import Flickr30kMetric
from mmglip.utils.cli import run_tool

from ..tool_modules import load_tool
from .grounding_data import (fresh_logger, lite_checkpoint, lite_config,
                             make_flickr, need_shared_data)

KEYS = ('Recall@1', 'Recall@5', 'Recall@10', 'Upper_bound')


@pytest.fixture(scope='module')
def flickr_data(tmp_path_factory):
    need_shared_data()
    root = tmp_path_factory.mktemp('flickr')
    ann_file, img_dir, data = make_flickr(root)
    return root, ann_file, data


def _targets(data, img_id, phrase):
    """The target boxes (x1, y1, x2, y2) of a phrase, from the raw json."""
    img = next(i for i in data['images'] if i['id'] == img_id)
    span = img['tokens_positive_eval'][phrase][0]
    return [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
             a['bbox'][1] + a['bbox'][3]] for a in data['annotations']
            if a['image_id'] == img_id and span in a['tokens_positive']]


def _samples(data, make_boxes):
    """One sample per sentence; ``make_boxes(phrase targets)`` gives that
    phrase's (boxes, scores)."""
    samples = []
    for img in data['images']:
        boxes, scores, labels = [], [], []
        for p in range(len(img['tokens_positive_eval'])):
            b, s = make_boxes(_targets(data, img['id'], p))
            boxes += b
            scores += s
            labels += [p] * len(b)
        samples.append(dict(img_id=img['id'], pred_instances=dict(
            bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            scores=torch.tensor(scores), labels=torch.tensor(labels))))
    return samples


def _evaluate(ann_file, samples, **kwargs):
    metric = Flickr30kMetric(str(ann_file), **kwargs)
    metric.process({}, samples)
    res = metric.evaluate(len(samples))
    return {k.split('/', 1)[1]: v for k, v in res.items()}


def test_ground_truth_is_recall_1_and_shifted_boxes_0(flickr_data):
    root, ann_file, data = flickr_data
    res = _evaluate(ann_file, _samples(
        data, lambda t: (t, [1.0] * len(t))))
    assert res == {k: 1.0 for k in KEYS}
    # moved right by the image width: next to nothing
    shifted = _samples(data, lambda t: (
        [[x1 + 2000, y1, x2 + 2000, y2] for x1, y1, x2, y2 in t],
        [1.0] * len(t)))
    assert _evaluate(ann_file, shifted) == {k: 0.0 for k in KEYS}
    # no prediction at all for a phrase: a miss, not a crash
    assert _evaluate(ann_file, _samples(data, lambda t: ([], []))) == {
        k: 0.0 for k in KEYS}


def test_boxes_are_ranked_by_score(flickr_data):
    """The right box given third in the output but with the highest score
    is a hit at 1; with the lowest of 6 scores only at 10."""
    root, ann_file, data = flickr_data

    def far(x1, y1, x2, y2):
        return [x1 + 2000, y1, x2 + 2000, y2]

    def best_last_in_order(t):
        return [far(*t[0]), far(*t[0]), t[0]], [0.5, 0.4, 0.9]

    assert _evaluate(ann_file, _samples(data, best_last_in_order)) == {
        k: 1.0 for k in KEYS}

    def sixth(t):
        return [far(*t[0])] * 5 + [t[0]], [0.9, 0.8, 0.7, 0.6, 0.5, 0.1]

    res = _evaluate(ann_file, _samples(data, sixth))
    assert res == {'Recall@1': 0.0, 'Recall@5': 0.0, 'Recall@10': 1.0,
                   'Upper_bound': 1.0}


def test_separate_or_merged_targets(flickr_data):
    """"many fish" has many boxes: one of them is a hit against separate
    targets, not against their enclosing box, and the other way round."""
    root, ann_file, data = flickr_data
    fish = _targets(data, 0, 2)
    assert len(fish) > 5

    def enclosing(boxes):
        b = np.asarray(boxes)
        return [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()]

    def only_fish(box):
        # the other phrases: each target and the enclosing box (a hit in
        # both protocols); "many fish": the one box given
        return lambda t: ([box], [1.0]) if t == fish else (
            t + [enclosing(t)], [1.0] * (len(t) + 1))

    n = sum(len(i['tokens_positive_eval']) for i in data['images'])
    one = _samples(data, only_fish(fish[0]))
    assert _evaluate(ann_file, one)['Upper_bound'] == 1.0
    assert _evaluate(ann_file, one, merge_boxes=True)['Upper_bound'] == (
        n - 1) / n
    merged = _samples(data, only_fish(enclosing(fish)))
    assert _evaluate(ann_file, merged, merge_boxes=True)['Upper_bound'] == 1
    assert _evaluate(ann_file, merged)['Upper_bound'] == (n - 1) / n


def test_glip_lite_end_to_end(flickr_data, tmp_path_factory, monkeypatch):
    """Caption prompts with phrase spans through tools/test.py; the recall
    is the one recomputed here from the dumped predictions."""
    from mmengine.runner import Runner
    root, ann_file, data = flickr_data
    ckpt = lite_checkpoint(tmp_path_factory.mktemp('ckpt') / 'lite.pth')
    cfg = lite_config(root / 'flickr_lite.py', 'flickr30k_val.py', f"""
model = dict(test_cfg=dict(score_thr=0.0))
test_dataloader.update(dataset=dict(data_root='{root}/'))
test_evaluator = dict(ann_file='{ann_file}')
""")
    fresh_logger()
    got = {}
    real_test = Runner.test
    monkeypatch.setattr(Runner, 'test', lambda self: got.setdefault(
        'metrics', real_test(self)))
    status = run_tool(load_tool('tools/test.py').main, [
        str(cfg), str(ckpt), '--work-dir', str(root / 'work'), '--out',
        str(root / 'preds.pkl')])
    assert status == 0
    metrics = {k.split('/', 1)[1]: v for k, v in got['metrics'].items()}
    preds = pickle.loads((root / 'preds.pkl').read_bytes())
    assert len(preds) == len(data['images'])
    hits = {k: 0 for k in (1, 5, 10, -1)}
    total = 0
    for sample in preds:
        img = next(i for i in data['images'] if i['id'] == sample['img_id'])
        assert sample['text'] == img['caption']
        pred = sample['pred_instances']
        n_phrases = len(img['tokens_positive_eval'])
        assert int(pred['labels'].max()) < n_phrases
        for p in range(n_phrases):
            total += 1
            mine = pred['labels'] == p
            order = torch.argsort(pred['scores'][mine], descending=True)
            boxes = pred['bboxes'][mine][order].numpy()
            targets = np.asarray(_targets(data, img['id'], p))
            for k in hits:
                top = boxes if k == -1 else boxes[:k]
                hits[k] += any(_iou(b, t) >= 0.5 for b in top
                               for t in targets)
    expected = {
        'Recall@1': hits[1] / total, 'Recall@5': hits[5] / total,
        'Recall@10': hits[10] / total, 'Upper_bound': hits[-1] / total}
    assert metrics == pytest.approx(expected)
    assert metrics['Upper_bound'] > 0  # 100 boxes per sentence: some hit


def _iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (union - inter)
