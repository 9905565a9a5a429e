"""tools/infer.py as a user runs it: real images, unreadable ones among
them, outputs that must not collide or be lost, arguments checked before the
model is built."""
import importlib.util
import json
import os
import shutil
import signal
import re
import subprocess
import sys

import pytest

from mmglip.utils.cli import run_tool

from ..conftest import DEMO_DATA, REPO

IMAGE = DEMO_DATA / 'raccoon_mini/valid/raccoon-106.jpg'
LITE = 'configs/glip_lite/glip-lite_raccoon-mini.py'


def _infer(*args, wait=True, gate=None):
    """Run tools/infer.py; with ``wait=False`` a Popen. ``gate``: a script
    that runs the tool in place of ``python tools/infer.py``."""
    tool = [str(gate)] if gate else ['tools/infer.py']
    cmd = [sys.executable, *tool, *map(str, args)]
    env = {**os.environ, 'HF_HUB_OFFLINE': '1'}
    if not wait:
        # Ctrl-C as a terminal delivers it, even where this test runs with
        # SIGINT ignored (a job started with '&' by a non-interactive shell):
        # a Python process that starts with SIGINT ignored keeps ignoring it
        # and never raises KeyboardInterrupt
        return subprocess.Popen(
            cmd, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env=env)


@pytest.fixture(scope='module')
def infer_tool():
    spec = importlib.util.spec_from_file_location('infer_tool',
                                                  REPO / 'tools/infer.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bad_copies(folder):
    data = IMAGE.read_bytes()
    (folder / 'truncated.jpg').write_bytes(data[:len(data) // 2])
    (folder / 'tiny.jpg').write_bytes(data[:200])
    (folder / 'notes.jpg').write_text('a text file, not an image')


def test_bad_images_are_skipped_named_and_outputs_never_collide(tmp_path):
    from PIL import Image
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    shutil.copy(IMAGE, tmp_path / 'a/x.jpg')
    shutil.copy(IMAGE, tmp_path / 'b/x.jpg')
    Image.open(IMAGE).save(tmp_path / 'a/x.png')
    _bad_copies(tmp_path / 'a')
    out = tmp_path / 'out'
    res = _infer(tmp_path / 'a', tmp_path / 'b', LITE, '--texts',
                 'raccoon. garbage bin.', '--pred-score-thr', '0',
                 '--out-dir', out)
    # exit status: how many images failed; each named on one line
    assert res.returncode == 3, res.stderr[-3000:]
    assert 'Traceback' not in res.stderr
    skipped = [ln for ln in res.stderr.splitlines() if ' skipped ' in ln]
    assert len(skipped) == 3
    for name in ('truncated.jpg', 'tiny.jpg', 'notes.jpg'):
        assert sum(name in ln for ln in skipped) == 1, skipped
    # every image, read or not, counts towards the progress: 6 in all
    done = sorted(int(m.group(1)) for m in (re.match(
        r'\[ *(\d+)/6, ETA (\d+[hms]|\d+m\d\ds)', ln)
        for ln in res.stdout.splitlines() + skipped) if m)
    assert done == [1, 2, 3, 4, 5, 6], res.stdout + res.stderr
    # a/x.jpg, a/x.png and b/x.jpg: three distinct outputs
    preds = sorted(p.relative_to(out / 'preds').as_posix()
                   for p in (out / 'preds').rglob('*.json'))
    assert preds == ['a/x.jpg.json', 'a/x.png.json', 'b/x.json']
    vis = sorted(p.relative_to(out / 'vis').as_posix()
                 for p in (out / 'vis').rglob('*') if p.is_file())
    assert vis == ['a/x.jpg', 'a/x.png', 'b/x.jpg']
    pred = json.loads((out / 'preds/b/x.json').read_text())
    assert pred['texts'] == ['raccoon', 'garbage bin']
    assert pred['img_path'] == str(tmp_path / 'b/x.jpg')
    assert len(pred['bboxes']) == len(pred['label_names']) > 0
    assert set(pred['label_names']) <= {'raccoon', 'garbage bin'}
    w, h = 269, 187  # the image's size: boxes are in original pixels
    for x1, y1, x2, y2 in pred['bboxes']:
        assert 0 <= x1 < x2 <= w + 1 and 0 <= y1 < y2 <= h + 1
    assert Image.open(out / 'vis/b/x.jpg').size == (w, h)
    # a second run does not overwrite the first one's outputs
    before = (out / 'preds/b/x.json').read_bytes()
    res = _infer(tmp_path / 'a', tmp_path / 'b', LITE, '--texts', 'dog',
                 '--out-dir', out)
    assert res.returncode == 2 and 'already holds outputs' in res.stderr
    assert '--skip-existing' in res.stderr and '--overwrite' in res.stderr
    assert (out / 'preds/b/x.json').read_bytes() == before


# Runs tools/infer.py as `python tools/infer.py ARGS` does, except that
# its second prediction file waits, before it is written, until a signal
# comes: the run cannot finish before the test's Ctrl-C, however fast the
# machine
GATE = """import runpy, sys, time
sys.path.insert(0, {repo!r})
import mmglip.utils.io as io
write, calls = io.atomic_write_json, []
def gated(*args, **kwargs):
    calls.append(args)
    while len(calls) > 1:  # only a signal ends this (SIGINT: Ctrl-C)
        time.sleep(0.1)
    write(*args, **kwargs)
io.atomic_write_json = gated
sys.argv = [{tool!r}] + sys.argv[1:]
runpy.run_path({tool!r}, run_name='__main__')
"""


def test_ctrl_c_keeps_what_was_written_and_skip_existing_continues(tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    for i in range(4):
        shutil.copy(IMAGE, images / f'img{i}.jpg')
    out = tmp_path / 'out'
    gate = tmp_path / 'gated_infer.py'
    gate.write_text(GATE.format(repo=str(REPO),
                                tool=str(REPO / 'tools/infer.py')))
    args = (images, LITE, '--texts', 'raccoon', '--out-dir', out,
            '--no-vis')
    proc = _infer(*args, wait=False, gate=gate)
    try:
        # the event: the tool's line for its first image (written after the
        # file; stdout is flushed per image); EOF if the tool ended early
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if 'img0.jpg: ' in line:
                break
        assert seen and 'img0.jpg: ' in seen[-1], ''.join(seen)
        assert seen[-1].startswith('[1/4, ETA ')
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err[-3000:]
    assert 'interrupted' in err and 'Traceback' not in err
    written = sorted((out / 'preds').glob('*'))
    assert [p.name for p in written] == ['img0.json']  # nothing half-made
    assert json.loads(written[0].read_text())['texts'] == ['raccoon']
    res = _infer(*args, '--skip-existing')
    assert res.returncode == 0, res.stderr[-3000:]
    assert '1 of 4 images already have predictions' in res.stdout
    assert sorted(p.name for p in (out / 'preds').glob('*.json')) == [
        f'img{i}.json' for i in range(4)]
    # the progress counts the images of this run: 3
    counts = [ln.split(',')[0] for ln in res.stdout.splitlines()
              if ln.startswith('[')]
    assert counts == ['[1/3', '[2/3', '[3/3'], res.stdout


def _error(capsys, tool, *argv):
    status = run_tool(tool.main, [str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return status, lines


def test_argument_errors_are_one_line_before_the_model_is_built(
        infer_tool, capsys, tmp_path):
    ok = (IMAGE, LITE, '--texts', 'cat')
    status, lines = _error(capsys, infer_tool, tmp_path / 'nope.jpg', LITE,
                           '--texts', 'cat')
    assert status == 2 and lines == [
        f'error: {tmp_path / "nope.jpg"}: no such image or folder.']
    status, lines = _error(capsys, infer_tool, IMAGE, 'glip-t_x', '--texts',
                           'cat')
    assert status == 2 and len(lines) == 1
    assert "'glip-t_x'" in lines[0] and 'did you mean' in lines[0]
    status, lines = _error(capsys, infer_tool, IMAGE, LITE, '--texts', ' . ')
    assert status == 2 and lines == [
        'error: --texts is empty: give phrases such as "cat. remote '
        'control".']
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    status, lines = _error(capsys, infer_tool, *ok, '--out-dir', blocker)
    assert status == 2 and len(lines) == 1 and 'is a file' in lines[0]
    bad_weights = tmp_path / 'weights.pth'
    bad_weights.write_text('{"not": "weights"}')
    status, lines = _error(capsys, infer_tool, *ok, '--weights', bad_weights,
                           '--out-dir', tmp_path / 'o')
    assert status == 2 and len(lines) == 1
    assert str(bad_weights) in lines[0] and 'JSON' in lines[0]
    status, lines = _error(capsys, infer_tool, *ok, '--weights',
                           tmp_path / 'missing.pth', '--out-dir',
                           tmp_path / 'o')
    assert status == 2 and 'missing.pth: no such file' in lines[0]
    import torch
    if not torch.cuda.is_available():
        status, lines = _error(capsys, infer_tool, *ok, '--device', 'cuda',
                               '--out-dir', tmp_path / 'o')
        assert status == 2 and 'no CUDA GPU' in lines[0]
    for thr in ('30', '-0.1', 'nan'):  # scores lie in [0, 1]
        status, lines = _error(capsys, infer_tool, *ok, '--pred-score-thr',
                               thr, '--out-dir', tmp_path / 'o')
        assert status == 2 and len(lines) == 1, lines
        assert lines[0].startswith(f'error: --pred-score-thr {float(thr):g}: '
                                   'scores lie in [0, 1]')
    with pytest.raises(SystemExit) as exc:  # argparse's own usage error
        infer_tool.main([*map(str, ok), '--batch-size', '0'])
    assert exc.value.code == 2
    assert 'is not >= 1' in capsys.readouterr().err
    # nothing was written anywhere by these failed calls
    assert not (tmp_path / 'o' / 'preds').exists()


def test_texts_split_on_period_space_or_one_name_per_argument(infer_tool):
    split = infer_tool.split_names
    assert split(['raccoon.dog. bin']) == ['raccoon.dog', 'bin']
    assert split(['Mr. Smith', 'dog']) == ['Mr. Smith', 'dog']


def test_output_names_are_flat_unless_two_images_share_one(infer_tool):
    names = infer_tool.output_names(
        ['/d/valid/r1.jpg', '/d/train/r2.jpg', '/d/a/x.jpg', '/d/b/x.jpg',
         '/d/a/y.jpg', '/d/a/y.png'])
    assert names == {'/d/valid/r1.jpg': 'r1', '/d/train/r2.jpg': 'r2',
                     '/d/a/x.jpg': 'a/x', '/d/b/x.jpg': 'b/x',
                     '/d/a/y.jpg': 'a/y.jpg', '/d/a/y.png': 'a/y.png'}
