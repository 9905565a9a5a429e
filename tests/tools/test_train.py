"""tools/train.py on real images: the loss goes down, a checkpoint is
written, and --resume continues from it (torch >= 2.6 included)."""
import json
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/glip_lite/glip-lite_raccoon-mini.py'


def _train(work_dir, *extra):
    cmd = [sys.executable, 'tools/train.py', CONFIG, '--work-dir',
           str(work_dir), '--cfg-options', 'train_cfg.val_interval=100',
           'default_hooks.checkpoint.interval=1', *extra]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                         env={**__import__('os').environ,
                              'HF_HUB_OFFLINE': '1'})
    assert res.returncode == 0, res.stderr[-4000:]
    return res


def _losses(work_dir):
    rows = []
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    return [(r['epoch'], r['iter'], r['loss']) for r in rows if 'loss' in r]


def test_train_then_resume(tmp_path):
    assert torch.__version__ >= '2.6'  # the case mmengine 0.10.7 fails on
    _train(tmp_path, 'train_cfg.max_epochs=3')
    assert (tmp_path / 'epoch_3.pth').is_file()
    first = _losses(tmp_path)
    assert len(first) == 9  # 24 images / batch 4 = 6 iters, logged every 2
    losses = [loss for _, _, loss in first]
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3, losses

    res = _train(tmp_path, 'train_cfg.max_epochs=4', '--resume')
    assert 'resumed epoch: 3' in (res.stdout + res.stderr)
    assert (tmp_path / 'epoch_4.pth').is_file()
    resumed = [r for r in _losses(tmp_path) if r[0] == 4]
    assert resumed and resumed[0][1] > first[-1][1]  # iteration continues

    # tools/test.py evaluates the checkpoint on the held-out split
    out = tmp_path / 'preds.pkl'
    res = subprocess.run(
        [sys.executable, 'tools/test.py', CONFIG,
         str(tmp_path / 'epoch_4.pth'), '--work-dir', str(tmp_path / 'test'),
         '--out', str(out)], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-4000:]
    assert 'coco/bbox_mAP: ' in res.stdout + res.stderr
    assert out.is_file()
    again = subprocess.run(
        [sys.executable, 'tools/test.py', CONFIG,
         str(tmp_path / 'epoch_4.pth'), '--out', str(out)], cwd=REPO,
        capture_output=True, text=True)
    assert again.returncode != 0 and 'not overwriting' in again.stderr
