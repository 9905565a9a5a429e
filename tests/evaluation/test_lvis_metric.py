"""LVIS Fixed AP: glip-lite through tools/test.py on an LVIS-format file of
100 classes (real Aquarium boxes), prompts in several chunks; the numbers are
those of the ``lvis`` package run directly on the dumped predictions."""
import json
import pickle
from collections import defaultdict

import numpy as np
import pytest
import torch

from mmglip.evaluation import LVISFixedAPMetric, numpy_float_alias
from mmglip.text import clean_name
from mmglip.utils.cli import run_tool

from ..tool_modules import load_tool
from .grounding_data import (fresh_logger, lite_checkpoint, lite_config,
                             make_lvis, need_shared_data)

CHUNK = 40  # 100 classes: chunks of 40, 40, 20


@pytest.fixture(scope='module')
def lvis_data(tmp_path_factory):
    need_shared_data()
    root = tmp_path_factory.mktemp('lvis')
    ann_file, coco_root, data = make_lvis(root)
    return root, ann_file, data


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return lite_checkpoint(tmp_path_factory.mktemp('ckpt') / 'lite.pth')


def _file_classes(data):
    return [c['name'] for c in data['categories']]


def _run_lvis(root, checkpoint, monkeypatch):
    """tools/test.py on the LVIS file; returns (status, metrics)."""
    from mmengine.runner import Runner
    cfg = lite_config(root / 'lvis_lite.py', 'lvis_v1_minival.py', f"""
model = dict(chunk_size={CHUNK}, test_cfg=dict(max_per_img=300,
                                                score_thr=0.0))
test_dataloader.update(dataset=dict(data_root='{root}/'))
test_evaluator = dict(
    ann_file='{root}/lvis/lvis_v1_minival_inserted_image_name.json',
    outfile_prefix='{root}/out/lvis')
""")
    fresh_logger()
    got = {}
    real_test = Runner.test
    monkeypatch.setattr(Runner, 'test', lambda self: got.setdefault(
        'metrics', real_test(self)))
    status = run_tool(load_tool('tools/test.py').main, [
        str(cfg), str(checkpoint), '--work-dir', str(root / 'work'),
        '--out', str(root / 'preds.pkl')
    ])
    return status, got.get('metrics')


def _lvis_eval(ann_file, dets, monkeypatch):
    """The lvis package on its own (np.float provided as lvis 0.5.3
    needs), with Fixed AP's settings: no per-image cap."""
    from lvis import LVIS, LVISEval, LVISResults
    monkeypatch.setattr(np, 'float', float, raising=False)
    gt = LVIS(str(ann_file))
    ev = LVISEval(gt, LVISResults(gt, dets, max_dets=-1), iou_type='bbox')
    ev.params.max_dets = -1
    ev.run()
    return dict(ev.results)


def test_chunked_prompts_end_to_end_equal_lvis_package(
        lvis_data, checkpoint, monkeypatch):
    root, ann_file, data = lvis_data
    status, metrics = _run_lvis(root, checkpoint, monkeypatch)
    assert status == 0
    classes = _file_classes(data)
    name2id = {c['name']: c['id'] for c in data['categories']}
    preds = pickle.loads((root / 'preds.pkl').read_bytes())
    assert len(preds) == len(data['images'])

    # the chunks' labels are global: every chunk predicts, and each label's
    # name (the model's own, from its chunk) is the class at that label
    dets = []
    labels_seen = set()
    for sample in preds:
        pred = sample['pred_instances']
        # every chunk's detections, each chunk capped at 300 (score_thr
        # 0: each chunk fills its cap), as the official evaluation
        num_chunks = -(-len(classes) // CHUNK)
        assert len(pred['labels']) == 300 * num_chunks
        for lbl, name in zip(pred['labels'].tolist(), pred['label_names']):
            assert name == clean_name(classes[lbl])
        labels_seen.update(pred['labels'].tolist())
        x1, y1, x2, y2 = pred['bboxes'].unbind(1)
        boxes = torch.stack((x1, y1, x2 - x1, y2 - y1), dim=1).tolist()
        for box, lbl, score in zip(boxes, pred['labels'].tolist(),
                                   pred['scores'].numpy()):
            dets.append(dict(image_id=sample['img_id'],
                             category_id=name2id[classes[lbl]], bbox=box,
                             score=float(score)))
    assert {lbl // CHUNK for lbl in labels_seen} == {0, 1, 2}

    # the metric's result file holds exactly these, with category ids
    written = json.loads((root / 'out/lvis.bbox.json').read_text())
    key = lambda d: (d['image_id'], d['category_id'],  # noqa: E731
                     tuple(round(v, 3) for v in d['bbox']),
                     round(d['score'], 6))
    assert sorted(map(key, written)) == sorted(map(key, dets))

    # Fixed AP: per category the top 10000 (all here), no per-image cap
    by_cat = defaultdict(list)
    for d in dets:
        by_cat[d['category_id']].append(d)
    top = [d for cat in by_cat.values() for d in sorted(
        cat, key=lambda d: d['score'], reverse=True)[:10000]]
    expected = _lvis_eval(ann_file, top, monkeypatch)
    for k in ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc',
              'APf'):
        assert metrics[f'lvis_fixed_ap/{k}'] == pytest.approx(
            float(expected[k]), abs=1e-12), k


def _gt_samples(data, shift=0.0):
    """The ground truth as predictions (score 1), per image."""
    classes = _file_classes(data)
    id2label = {c['id']: classes.index(c['name'])
                for c in data['categories']}
    samples = []
    for img in data['images']:
        anns = [a for a in data['annotations'] if a['image_id'] == img['id']]
        boxes = torch.tensor([[a['bbox'][0] + shift, a['bbox'][1],
                               a['bbox'][0] + a['bbox'][2] + shift,
                               a['bbox'][1] + a['bbox'][3]] for a in anns])
        samples.append(dict(img_id=img['id'], pred_instances=dict(
            bboxes=boxes, scores=torch.ones(len(anns)),
            labels=torch.tensor([id2label[a['category_id']]
                                 for a in anns]))))
    return samples


def test_ground_truth_as_predictions_scores_1(lvis_data, tmp_path):
    root, ann_file, data = lvis_data
    metric = LVISFixedAPMetric(str(ann_file),
                               outfile_prefix=str(tmp_path / 'gt'))
    metric.dataset_meta = dict(classes=_file_classes(data))
    metric.process({}, _gt_samples(data))
    res = metric.evaluate(len(data['images']))
    for k in ('AP', 'AP50', 'AP75', 'APr', 'APc', 'APf'):
        assert res[f'lvis_fixed_ap/{k}'] == pytest.approx(1.0), k
    # the alias of np.float lived only during the evaluation
    assert 'float' not in vars(np)
    with pytest.raises(AttributeError):
        np.float  # noqa: B018
    assert len(json.loads((tmp_path / 'gt.bbox.json').read_text())) == len(
        data['annotations'])
    # boxes moved by their width's worth: nothing matches
    metric.process({}, _gt_samples(data, shift=400.0))
    res = metric.evaluate(len(data['images']))
    assert res['lvis_fixed_ap/AP'] < 0.05


def test_lvis_package_needs_the_alias(lvis_data):
    """Why numpy_float_alias exists: lvis 0.5.3 fails on this numpy."""
    from lvis import LVIS, LVISEval
    root, ann_file, data = lvis_data
    gt = LVIS(str(ann_file))
    dets = [dict(image_id=a['image_id'], category_id=a['category_id'],
                 bbox=a['bbox'], score=1.0) for a in data['annotations']]
    ev = LVISEval(gt, dets, iou_type='bbox')
    if 'float' in vars(np):
        pytest.skip('this numpy still has np.float')
    with pytest.raises(AttributeError, match='float'):
        ev.run()
    with numpy_float_alias():
        ev.run()
    assert ev.results['AP'] == 1.0
    assert 'float' not in vars(np)


def test_labels_map_by_name_and_wrong_files_are_named(lvis_data, tmp_path):
    from mmglip.datasets import LVISDataError
    root, ann_file, data = lvis_data
    metric = LVISFixedAPMetric(str(ann_file))
    classes = _file_classes(data)
    metric.dataset_meta = dict(classes=list(reversed(classes)))
    name2id = {c['name']: c['id'] for c in data['categories']}
    assert metric.cat_ids == [name2id[c] for c in reversed(classes)]
    with pytest.raises(LVISDataError, match='not categories of') as err:
        metric.dataset_meta = dict(classes=['raccoon'] + classes)
    assert str(ann_file) in str(err.value)
    missing = tmp_path / 'nowhere.json'
    with pytest.raises(LVISDataError) as err:
        LVISFixedAPMetric(str(missing))
    msg = str(err.value)
    assert str(missing) in msg and 'lvisdataset.org' in msg
    assert '\n' not in msg
    # no detections at all: AP 0, no crash inside lvis
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [dict(img_id=data['images'][0]['id'],
                             pred_instances=dict(
                                 bboxes=torch.zeros((0, 4)),
                                 scores=torch.zeros(0),
                                 labels=torch.zeros(0, dtype=torch.long)))])
    assert metric.evaluate(1)['lvis_fixed_ap/AP'] == 0.0
