"""LVIS Fixed AP on a set without rare categories with boxes (an edited copy
of the suite's real LVIS-format file): the ``lvis`` package reports -1 for
APr; mmglip prints "n/a (no rare categories with boxes)" and returns NaN,
the other groups unchanged."""
import json
import math
import pickle

import numpy as np
import pytest
import torch

from mmglip.evaluation import LVISFixedAPMetric
from mmglip.utils.cli import run_tool

from ..conftest import REPO
from ..tool_modules import load_tool
from .grounding_data import fresh_logger, make_lvis, need_shared_data


@pytest.fixture(scope='module')
def no_rare(tmp_path_factory):
    """The suite's LVIS file with its rare classes that have boxes
    (starfish, stingray) made common: rare ones remain, without boxes."""
    need_shared_data()
    root = tmp_path_factory.mktemp('lvis_no_rare')
    ann_file, _, data = make_lvis(root)
    boxed = {a['category_id'] for a in data['annotations']}
    rare_boxed = [c for c in data['categories']
                  if c['frequency'] == 'r' and c['id'] in boxed]
    assert rare_boxed  # the unedited file has rare boxes
    for c in rare_boxed:
        c['frequency'] = 'c'
    assert any(c['frequency'] == 'r' for c in data['categories'])
    ann_file.write_text(json.dumps(data))
    return root, ann_file, data


def _gt_samples(data):
    classes = [c['name'] for c in data['categories']]
    id2label = {c['id']: classes.index(c['name']) for c in data['categories']}
    samples = []
    for k, img in enumerate(data['images']):
        anns = [a for a in data['annotations'] if a['image_id'] == img['id']]
        samples.append(dict(
            img_id=img['id'], img_path=f'coco/x/{k + 1:012d}.jpg',
            ori_shape=(img['height'], img['width']),
            pred_instances=dict(
                bboxes=torch.tensor([[x, y, x + w, y + h] for x, y, w, h in
                                     (a['bbox'] for a in anns)]),
                scores=torch.ones(len(anns)),
                labels=torch.tensor([id2label[a['category_id']]
                                     for a in anns]))))
    return samples


def test_apr_is_nan_where_lvis_says_minus_1(no_rare, monkeypatch):
    from lvis import LVIS, LVISEval
    root, ann_file, data = no_rare
    # the lvis package alone: -1 for APr, 1 for the groups with boxes
    monkeypatch.setattr(np, 'float', float, raising=False)
    gt = LVIS(str(ann_file))
    dets = [dict(image_id=a['image_id'], category_id=a['category_id'],
                 bbox=a['bbox'], score=1.0) for a in data['annotations']]
    ev = LVISEval(gt, dets, iou_type='bbox')
    ev.run()
    assert ev.results['APr'] == -1
    monkeypatch.undo()

    metric = LVISFixedAPMetric(str(ann_file))
    metric.dataset_meta = dict(classes=[c['name']
                                        for c in data['categories']])
    metric.process({}, _gt_samples(data))
    res = metric.evaluate(len(data['images']))
    assert math.isnan(res['lvis_fixed_ap/APr'])
    for k in ('AP', 'APc', 'APf'):
        assert res[f'lvis_fixed_ap/{k}'] == pytest.approx(ev.results[k]), k
        assert res[f'lvis_fixed_ap/{k}'] == pytest.approx(1.0), k


def test_the_printout_says_why(no_rare, tmp_path, capsys):
    root, ann_file, data = no_rare
    cfg = tmp_path / 'lvis.py'
    cfg.write_text(f"""_base_ = [
    '{REPO}/configs/_base_/models/glip_lite.py',
    '{REPO}/configs/_base_/datasets/lvis_v1_minival.py',
    '{REPO}/configs/_base_/default_runtime.py'
]
test_dataloader = dict(dataset=dict(data_root='{root}/'))
test_evaluator = dict(ann_file='{ann_file}')
""")
    pkl = tmp_path / 'gt.pkl'
    pkl.write_bytes(pickle.dumps(_gt_samples(data)))
    fresh_logger()
    capsys.readouterr()
    status = run_tool(load_tool('tools/analysis/eval_metric.py').main,
                      [str(cfg), str(pkl)])
    out = capsys.readouterr().out
    assert status == 0
    table = [line for line in out.splitlines()
             if line.startswith(' Average Precision')]
    rare = [line for line in table if 'catIds=  r]' in line]
    common = [line for line in table if 'catIds=  c]' in line]
    assert rare and rare[0].endswith(
        '= n/a (no rare categories with boxes)'), table
    assert common and common[0].endswith('= 1.000'), table
    assert not any(line.endswith('-1.000') for line in table), table
    assert 'lvis_fixed_ap/APr: nan' in out.splitlines()[-1]
