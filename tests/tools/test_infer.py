import json
import subprocess
import sys

from ..conftest import DEMO_DATA, REPO


def _infer(*args):
    return subprocess.run(
        [sys.executable, 'tools/infer.py', *map(str, args)], cwd=REPO,
        capture_output=True, text=True,
        env={**__import__('os').environ, 'HF_HUB_OFFLINE': '1'})


def test_free_text_on_a_real_image(tmp_path):
    image = DEMO_DATA / 'raccoon_mini/valid/raccoon-106.jpg'
    res = _infer(image, 'configs/glip_lite/glip-lite_raccoon-mini.py',
                 '--texts', 'raccoon. garbage bin.', '--pred-score-thr', '0',
                 '--out-dir', tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    pred = json.loads((tmp_path / 'preds/raccoon-106.json').read_text())
    assert pred['texts'] == ['raccoon', 'garbage bin']
    assert len(pred['bboxes']) == len(pred['label_names']) > 0
    assert set(pred['label_names']) <= {'raccoon', 'garbage bin'}
    w, h = 269, 187  # the image's size: boxes are in original pixels
    for x1, y1, x2, y2 in pred['bboxes']:
        assert 0 <= x1 < x2 <= w + 1 and 0 <= y1 < y2 <= h + 1
    assert (tmp_path / 'vis/raccoon-106.jpg').is_file()


def test_bad_inputs_are_named(tmp_path):
    res = _infer(tmp_path / 'nope.jpg', 'glip-t_c', '--texts', 'cat')
    assert res.returncode != 0 and 'nope.jpg' in res.stderr
    res = _infer(DEMO_DATA / 'raccoon_mini/valid', 'glip-t_x', '--texts',
                 'cat')
    assert res.returncode != 0 and "'glip-t_x'" in res.stderr
    res = _infer(DEMO_DATA / 'raccoon_mini/valid',
                 'configs/glip_lite/glip-lite_raccoon-mini.py', '--texts',
                 ' . ')
    assert res.returncode != 0 and '--texts is empty' in res.stderr
