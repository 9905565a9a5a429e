"""tools/test.py on real data: a metric's ground truth of other images is
one line before any inference; the --out dump is written before the metrics,
so a metric failing after the inference keeps the predictions (one line
naming them, scored again by tools/analysis/eval_metric.py); progress in
images with an ETA; mmengine's dumps in the log file, not on the console
(tools/train.py as well)."""
import contextlib
import io
import json
import re

import pytest

from mmglip.utils.cli import run_tool

from ..conftest import DEMO_DATA, REPO
from ..evaluation.grounding_data import (fresh_logger, lite_checkpoint,
                                         lite_config, make_lvis,
                                         need_shared_data)
from ..tool_modules import load_tool

ODINW_CONFIG = REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py'
RACCOON_TEST = \
    DEMO_DATA / 'raccoon_mini/test/annotations_without_background.json'
RACCOON_VALID = \
    DEMO_DATA / 'raccoon_mini/valid/annotations_without_background.json'
DUMPS = ('System environment:', 'Config:\n',
         'Hooks will be executed in the following order')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return lite_checkpoint(tmp_path_factory.mktemp('ckpt') / 'lite.pth')


def _no_inference(monkeypatch):
    """A list that the test loop's run appends to (it still runs)."""
    from mmengine.runner import TestLoop
    ran = []
    real_run = TestLoop.run
    monkeypatch.setattr(TestLoop, 'run', lambda self: ran.append(1) or
                        real_run(self))
    return ran


def _error_line(capsys, argv):
    fresh_logger()
    capsys.readouterr()
    status = run_tool(load_tool('tools/test.py').main, [str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith('error: ')]
    assert status == 2 and len(errors) == 1 and err[-1] == errors[0], err
    return errors[0]


def test_lvis_ground_truth_of_other_images_is_one_line_before_inference(
        checkpoint, tmp_path, capsys, monkeypatch):
    """The issue's case: two valid LVIS files of different images, one for
    the dataset, one for the metric."""
    need_shared_data()
    a, _, data = make_lvis(tmp_path / 'a')
    b, _, other = make_lvis(tmp_path / 'b', images=('IMG_2534', 'IMG_2367'))
    for img in other['images']:  # other COCO images: other ids
        img['id'] += 100
    for ann in other['annotations']:
        ann['image_id'] += 100
    b.write_text(json.dumps(other))
    cfg = lite_config(tmp_path / 'lvis.py', 'lvis_v1_minival.py', f"""
test_dataloader.update(dataset=dict(data_root='{tmp_path}/a/'))
test_evaluator = dict(ann_file='{a}')
""")
    ran = _no_inference(monkeypatch)
    out = tmp_path / 'preds.pkl'
    line = _error_line(capsys, [
        cfg, checkpoint, '--work-dir', tmp_path / 'work', '--out', out,
        '--cfg-options', f'test_dataloader.dataset.ann_file={a}',
        f'test_evaluator.ann_file={b}'])
    first = data['images'][0]['id']
    assert line == (
        f'error: test_evaluator.ann_file {b} (LVISFixedAPMetric) holds none '
        f"of the 2 images of the dataset's file {a} (image id {first} "
        f'(000000000001.jpg) is not in test_evaluator.ann_file): set '
        "test_evaluator.ann_file to the dataset's file (or the dataset to "
        'the file scored).')
    assert not ran and not out.exists()


def test_odinw_split_mismatch_is_caught_by_file_names(
        checkpoint, tmp_path, capsys, monkeypatch):
    """The Raccoon test split scored against the valid split's file: the
    same image ids (1..8), other pictures; pycocotools would score it
    without a word."""
    ran = _no_inference(monkeypatch)
    cfg = tmp_path / 'valid_gt.py'
    cfg.write_text(f"_base_ = '{ODINW_CONFIG}'\n"
                   f"test_evaluator = dict(ann_file='{RACCOON_VALID}')\n")
    line = _error_line(capsys, [cfg, checkpoint, '--work-dir',
                                tmp_path / 'work'])
    test_img = json.loads(RACCOON_TEST.read_text())['images'][0]
    valid_img = next(
        i for i in json.loads(RACCOON_VALID.read_text())['images']
        if i['id'] == test_img['id'])
    assert line.startswith(
        f'error: test_evaluator.ann_file {RACCOON_VALID} (DatasetCocoMetric)'
        f" holds none of the 8 images of the dataset's file ")
    assert f'image id {test_img["id"]} is {test_img["file_name"]} in the ' \
        f'dataset but {valid_img["file_name"]} in test_evaluator.ann_file' \
        in line
    assert not ran


@pytest.fixture(scope='module')
def late_failure(checkpoint, tmp_path_factory):
    """tools/test.py on 4 Raccoon test images with a metric that fails
    after the inference: its outfile_prefix lies under a file."""
    root = tmp_path_factory.mktemp('late')
    blocker = root / 'a_file'
    blocker.write_text('not a folder')
    cfg = root / 'late.py'
    cfg.write_text(f"""_base_ = '{ODINW_CONFIG}'
model = dict(test_cfg=dict(score_thr=0.0))
test_dataloader = dict(dataset=dict(indices=4))
test_evaluator = dict(outfile_prefix='{blocker}/coco')
""")
    out = root / 'preds.pkl'
    stdout, stderr = io.StringIO(), io.StringIO()
    fresh_logger()
    with contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        status = run_tool(load_tool('tools/test.py').main, [
            str(cfg), str(checkpoint), '--work-dir', str(root / 'work'),
            '--out', str(out)])
    fresh_logger()
    return dict(status=status, out=out, cfg=cfg, blocker=blocker,
                stdout=stdout.getvalue(),
                stderr=stderr.getvalue().strip().splitlines())


def _log_file(stdout):
    m = re.search(r"mmengine's environment, config and hook dumps: in "
                  r'(\S+\.log)', stdout)
    assert m, stdout[:2000]
    return m.group(1)


def test_a_metric_failing_late_keeps_the_dump_and_says_so(late_failure):
    from mmglip.evaluation import load_dump
    r = late_failure
    assert r['status'] == 2
    errors = [line for line in r['stderr'] if line.startswith('error:')]
    assert len(errors) == 1 and r['stderr'][-1] == errors[0], r['stderr']
    log = _log_file(r['stdout'])
    assert errors[0].startswith('error: DatasetCocoMetric failed (')
    assert str(r['blocker']) in errors[0]
    assert errors[0].endswith(
        f'after the inference; the predictions are kept in {r["out"]}: '
        'score them again with python tools/analysis/eval_metric.py '
        f'{r["cfg"]} {r["out"]} (traceback in {log})')
    # the dump holds the 4 images; the traceback is in the log file only
    samples = load_dump(str(r['out']))
    first4 = [i['id'] for i in json.loads(RACCOON_TEST.read_text())[
        'images'][:4]]
    assert [s['img_id'] for s in samples] == first4
    text = open(log).read()
    assert 'Traceback (most recent call last)' in text
    assert 'Traceback' not in r['stdout'] + '\n'.join(r['stderr'])
    # 4 of the file's 8 images: the other 4 count as missed, said once
    warnings = [line for line in r['stderr'] if line.startswith('warning:')]
    assert any('holds 4 image(s) besides the 4 of the dataset' in w
               for w in warnings), warnings


def test_the_kept_dump_scores_as_pycocotools_scores_it(late_failure,
                                                       tmp_path, capsys):
    """eval_metric.py with the config fixed (outfile_prefix gone) gives the
    AP that pycocotools computes from the dump on its own."""
    import numpy as np
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from mmglip.evaluation import load_dump
    r = late_failure
    fixed = tmp_path / 'fixed.py'
    fixed.write_text(r['cfg'].read_text().replace(
        f"test_evaluator = dict(outfile_prefix='{r['blocker']}/coco')", ''))
    fresh_logger()
    capsys.readouterr()
    status = run_tool(load_tool('tools/analysis/eval_metric.py').main,
                      [str(fixed), str(r['out'])])
    out = capsys.readouterr().out
    assert status == 0
    line = out.strip().splitlines()[-1]
    got = float(re.search(r'coco/bbox_mAP: ([\d.]+)', line).group(1))
    got50 = float(re.search(r'coco/bbox_mAP_50: ([\d.]+)', line).group(1))

    dets = []
    for s in load_dump(str(r['out'])):
        pred = s['pred_instances']
        for (x1, y1, x2, y2), score in zip(pred['bboxes'].tolist(),
                                           pred['scores'].tolist()):
            dets.append(dict(image_id=s['img_id'], category_id=1,
                             bbox=[x1, y1, x2 - x1, y2 - y1], score=score))
    assert dets
    gt = COCO(str(RACCOON_TEST))
    ev = COCOeval(gt, gt.loadRes(dets), 'bbox')
    ev.params.maxDets = [100, 300, 1000]  # as mmdet's CocoMetric
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert got == pytest.approx(round(float(ev.stats[0]), 3), abs=1e-9)
    assert got50 == pytest.approx(round(float(ev.stats[1]), 3), abs=1e-9)
    assert np.isfinite(ev.stats[0])


def test_progress_in_images_and_dumps_in_the_log_file(late_failure):
    r = late_failure
    lines = [line for line in r['stdout'].splitlines() if ' - test: ' in line]
    done = [int(m.group(1)) for m in (
        re.search(r' - test: (\d+)/4 images \(\d+%\), \S+ elapsed, ETA \S+ '
                  r'\(', line) for line in lines) if m]
    # 4 images: every image is more than 5 % of them
    assert done == [1, 2, 3], lines
    assert re.search(r' - test: all 4 images done in \S+ \(.*\); '
                     r'DatasetCocoMetric now \.\.\.', lines[-1]), lines
    # mmengine's dumps: in the log file, not on the console
    log = open(_log_file(r['stdout'])).read()
    for dump in DUMPS:
        assert dump in log, dump
        assert dump not in r['stdout'], dump


def test_train_keeps_the_dumps_in_the_log_file(tmp_path, capsys,
                                               monkeypatch):
    """tools/train.py up to the training itself."""
    from mmengine.runner import Runner
    monkeypatch.setattr(Runner, 'train', lambda self: None)
    fresh_logger()
    capsys.readouterr()
    status = run_tool(load_tool('tools/train.py').main, [
        str(ODINW_CONFIG), '--work-dir', str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    log_file = _log_file(out)
    assert log_file.startswith(str(tmp_path))
    log = open(log_file).read()
    for dump in DUMPS:
        assert dump in log and dump not in out, dump
