"""tools/analysis/eval_metric.py: a dump scored again with the config's
metrics, for COCO, ODinW, LVIS and Flickr30k configs. The dumps are made
here from the real annotation files (ground truth as predictions: every
metric must give its best score, boxes moved off: its worst); a wrong input
is one ``error:`` line."""
import json
import pickle

import pytest
import torch

from mmglip.utils.cli import run_tool

from ..conftest import DEMO_DATA, REPO
from ..evaluation.grounding_data import (fresh_logger, make_flickr, make_lvis,
                                         need_shared_data)
from ..tool_modules import load_tool

RACCOON_TEST = DEMO_DATA / 'raccoon_mini/test'
ODINW_CONFIG = REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py'


def _eval(capsys, *argv):
    """(status, stdout, stderr lines) of eval_metric.py run in-process."""
    fresh_logger()
    capsys.readouterr()
    status = run_tool(load_tool('tools/analysis/eval_metric.py').main,
                      [str(a) for a in argv])
    out = capsys.readouterr()
    return status, out.out, out.err.strip().splitlines()


def _metrics(stdout, pkl):
    """The ``name: value`` pairs of the tool's last line."""
    line = next(line for line in reversed(stdout.splitlines())
                if f'{pkl} (' in line and 'images)' in line)
    pairs = line.split('images)', 1)[1].split('  ')
    return {k.strip(): float(v) for k, v in (
        p.split(': ') for p in pairs if p.strip())}


def _box(xywh, dx=0.0):
    x, y, w, h = xywh
    return [x + dx, y, x + w + dx, y + h]


def _coco_dump(ann_file, img_dir, path, dx=0.0):
    """A tools/test.py-style dump of a COCO-format file's ground truth."""
    data = json.loads(ann_file.read_text())
    cats = sorted(c['id'] for c in data['categories'])
    samples = []
    for img in data['images']:
        anns = [a for a in data['annotations'] if a['image_id'] == img['id']]
        samples.append(dict(
            img_id=img['id'], img_path=str(img_dir / img['file_name']),
            ori_shape=(img['height'], img['width']),
            pred_instances=dict(
                bboxes=torch.tensor([_box(a['bbox'], dx) for a in anns]),
                scores=torch.ones(len(anns)),
                labels=torch.tensor([cats.index(a['category_id'])
                                     for a in anns]))))
    path.write_bytes(pickle.dumps(samples))
    return path


def test_odinw_config_scores_its_ground_truth_1(tmp_path, capsys):
    pkl = _coco_dump(RACCOON_TEST / 'annotations_without_background.json',
                     RACCOON_TEST, tmp_path / 'gt.pkl')
    status, out, err = _eval(capsys, ODINW_CONFIG, pkl)
    assert status == 0, err
    got = _metrics(out, pkl)
    assert got['coco/bbox_mAP'] == 1.0 and got['coco/bbox_mAP_50'] == 1.0
    # the metric's own table is printed, as tools/test.py prints it
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in out
    far = _coco_dump(RACCOON_TEST / 'annotations_without_background.json',
                     RACCOON_TEST, tmp_path / 'far.pkl', dx=5000.0)
    status, out, err = _eval(capsys, ODINW_CONFIG, far)
    assert status == 0 and _metrics(out, far)['coco/bbox_mAP'] == 0.0


def test_coco_config_scores_its_ground_truth_1(tmp_path, capsys):
    """mmdet's CocoMetric with its own ann_file (configs/_base_/datasets/
    coco_detection.py) pointed at the Raccoon test split."""
    ann = RACCOON_TEST / 'annotations_without_background.json'
    cfg = tmp_path / 'coco.py'
    cfg.write_text(f"""_base_ = [
    '{REPO}/configs/_base_/models/glip_lite.py',
    '{REPO}/configs/_base_/datasets/coco_detection.py',
    '{REPO}/configs/_base_/default_runtime.py'
]
test_dataloader = dict(dataset=dict(
    data_root='{RACCOON_TEST}/',
    ann_file='annotations_without_background.json',
    data_prefix=dict(img=''), metainfo=dict(classes=('raccoon', ))))
test_evaluator = dict(ann_file='{ann}')
""")
    pkl = _coco_dump(ann, RACCOON_TEST, tmp_path / 'gt.pkl')
    status, out, err = _eval(capsys, cfg, pkl)
    assert status == 0, err
    assert _metrics(out, pkl)['coco/bbox_mAP'] == 1.0


def _lvis_dump(data, path, dx=0.0):
    classes = [c['name'] for c in data['categories']]
    id2label = {c['id']: classes.index(c['name']) for c in data['categories']}
    samples = []
    for k, img in enumerate(data['images']):
        anns = [a for a in data['annotations'] if a['image_id'] == img['id']]
        samples.append(dict(
            img_id=img['id'], img_path=f'coco/x/{k + 1:012d}.jpg',
            ori_shape=(img['height'], img['width']),
            pred_instances=dict(
                bboxes=torch.tensor([_box(a['bbox'], dx) for a in anns]),
                scores=torch.ones(len(anns)),
                labels=torch.tensor([id2label[a['category_id']]
                                     for a in anns]))))
    path.write_bytes(pickle.dumps(samples))
    return path


def _lvis_config(root, path, ann_file):
    path.write_text(f"""_base_ = [
    '{REPO}/configs/_base_/models/glip_lite.py',
    '{REPO}/configs/_base_/datasets/lvis_v1_minival.py',
    '{REPO}/configs/_base_/default_runtime.py'
]
test_dataloader = dict(dataset=dict(data_root='{root}/'))
test_evaluator = dict(ann_file='{ann_file}')
""")
    return path


@pytest.fixture(scope='module')
def lvis(tmp_path_factory):
    need_shared_data()
    root = tmp_path_factory.mktemp('lvis')
    ann_file, _, data = make_lvis(root)
    return root, ann_file, data


def test_lvis_config_scores_its_ground_truth_1(lvis, tmp_path, capsys):
    root, ann_file, data = lvis
    cfg = _lvis_config(root, tmp_path / 'lvis.py', ann_file)
    pkl = _lvis_dump(data, tmp_path / 'gt.pkl')
    status, out, err = _eval(capsys, cfg, pkl)
    assert status == 0, err
    got = _metrics(out, pkl)
    for k in ('AP', 'AP50', 'APr', 'APc', 'APf'):
        assert got[f'lvis_fixed_ap/{k}'] == pytest.approx(1.0), k
    far = _lvis_dump(data, tmp_path / 'far.pkl', dx=5000.0)
    status, out, err = _eval(capsys, cfg, far)
    assert status == 0 and _metrics(out, far)['lvis_fixed_ap/AP'] == 0.0


def test_flickr30k_config_recalls_its_ground_truth(tmp_path, capsys):
    need_shared_data()
    ann_file, img_dir, data = make_flickr(tmp_path)
    cfg = tmp_path / 'flickr.py'
    cfg.write_text(f"""_base_ = [
    '{REPO}/configs/_base_/models/glip_lite.py',
    '{REPO}/configs/_base_/datasets/flickr30k_val.py',
    '{REPO}/configs/_base_/default_runtime.py'
]
test_dataloader = dict(dataset=dict(data_root='{tmp_path}/'))
test_evaluator = dict(ann_file='{ann_file}')
""")
    samples = []
    for img in data['images']:
        boxes, labels = [], []
        for p, spans in enumerate(img['tokens_positive_eval']):
            for a in data['annotations']:
                if a['image_id'] == img['id'] and \
                        spans[0] in a['tokens_positive']:
                    boxes.append(_box(a['bbox']))
                    labels.append(p)
        samples.append(dict(
            img_id=img['id'], img_path=str(img_dir / img['file_name']),
            pred_instances=dict(bboxes=torch.tensor(boxes),
                                scores=torch.ones(len(boxes)),
                                labels=torch.tensor(labels))))
    pkl = tmp_path / 'gt.pkl'
    pkl.write_bytes(pickle.dumps(samples))
    status, out, err = _eval(capsys, cfg, pkl)
    assert status == 0, err
    got = _metrics(out, pkl)
    assert got['flickr30k/Recall@1'] == 1.0
    assert got['flickr30k/Upper_bound'] == 1.0


def _one_error(status, err):
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith('error: ')
    return err[0]


def test_bad_inputs_are_one_line(tmp_path, capsys):
    ann = RACCOON_TEST / 'annotations_without_background.json'
    good = _coco_dump(ann, RACCOON_TEST, tmp_path / 'gt.pkl')
    # a missing file
    line = _one_error(*_eval(capsys, ODINW_CONFIG, tmp_path / 'none.pkl')[::2])
    assert str(tmp_path / 'none.pkl') in line and 'no such file' in line
    # not a pickle: the config itself
    line = _one_error(*_eval(capsys, ODINW_CONFIG, ODINW_CONFIG)[::2])
    assert f'{ODINW_CONFIG}: not a tools/test.py --out dump' in line
    # a dump cut short (a copy interrupted)
    cut = tmp_path / 'cut.pkl'
    cut.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    line = _one_error(*_eval(capsys, ODINW_CONFIG, cut)[::2])
    assert f'{cut}: not a tools/test.py --out dump (cannot be unpickled' \
        in line
    # a pickle of something else
    other = tmp_path / 'other.pkl'
    other.write_bytes(pickle.dumps({'coco/bbox_mAP': 0.5}))
    line = _one_error(*_eval(capsys, ODINW_CONFIG, other)[::2])
    assert 'holds a dict' in line
    # a dump of the test split scored against the valid split's file: the
    # ids are the same (1..8), the images are not
    valid = DEMO_DATA / 'raccoon_mini/valid' / \
        'annotations_without_background.json'
    cfg = tmp_path / 'valid_gt.py'
    cfg.write_text(f"_base_ = '{ODINW_CONFIG}'\n"
                   f"test_evaluator = dict(ann_file='{valid}')\n")
    line = _one_error(*_eval(capsys, cfg, good)[::2])
    first = json.loads(ann.read_text())['images'][0]
    assert line.startswith(f'error: test_evaluator.ann_file {valid} ')
    assert f'the dump {good}' in line
    assert f'image id {first["id"]} is {first["file_name"]} in the dump' \
        in line


def test_a_dump_of_other_lvis_images_is_one_line(lvis, tmp_path, capsys):
    root, ann_file, data = lvis
    other = json.loads(json.dumps(data))
    for img in other['images']:
        img['id'] += 100
    for ann in other['annotations']:
        ann['image_id'] += 100
    other_file = tmp_path / 'other.json'
    other_file.write_text(json.dumps(other))
    cfg = _lvis_config(root, tmp_path / 'lvis.py', other_file)
    pkl = _lvis_dump(data, tmp_path / 'gt.pkl')
    line = _one_error(*_eval(capsys, cfg, pkl)[::2])
    assert f'test_evaluator.ann_file {other_file} (LVISFixedAPMetric) ' \
        f'holds none of the {len(data["images"])} images of the dump ' \
        f'{pkl}' in line
    # labels beyond the config's classes: another config's dump
    many = _lvis_dump(data, tmp_path / 'many.pkl')
    samples = pickle.loads(many.read_bytes())
    samples[0]['pred_instances']['labels'][0] = 4000
    many.write_bytes(pickle.dumps(samples))
    line = _one_error(*_eval(capsys, _lvis_config(
        root, tmp_path / 'same.py', ann_file), many)[::2])
    assert f'{many}: the dump has label 4000' in line
