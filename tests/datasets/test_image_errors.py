"""Images that cannot be decoded, on real files: copies of the shared
Raccoon / Aquarium images (and of the demo raccoon_mini) in tmp_path,
truncated, replaced by a text file named .jpg, or cut to 200 bytes.

The converter refuses them naming each file and leaves nothing at DST;
check_odinw lists each one (exit status 1); a dataset built from a config
raises ImageError naming the file when it reaches it; the tools' errors are
one line without a traceback."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from odinw_formats import ConversionError, convert
from mmglip.datasets.validation import load_and_validate
from mmglip.utils.cli import run_tool
from mmglip.utils.images import ImageError
from .conftest import ANN, AQUARIUM, RACCOON, load_tool, need

REPO = Path(__file__).resolve().parents[2]
RACCOON_MINI = REPO / 'demo' / 'data' / 'raccoon_mini'
MINI_CONFIG = REPO / 'configs' / '_base_' / 'datasets' / 'raccoon_mini.py'


@pytest.fixture(autouse=True)
def _no_debug_env(monkeypatch):
    """User errors as users see them, whatever MMGLIP_DEBUG says here."""
    monkeypatch.delenv('MMGLIP_DEBUG', raising=False)


#: how each kind of damage reads in the decoder's reason
DAMAGES = {
    'truncated': 'truncated',     # the second half of the bytes cut
    'text': 'not an image',       # a text file named .jpg
    'cut200': 'Truncated File Read',  # the first 200 bytes only
}


def damage(path, how):
    """Damage the image file at ``path`` in place; returns its path."""
    path = Path(path)
    data = path.read_bytes()
    if how == 'truncated':
        path.write_bytes(data[:len(data) // 2])
    elif how == 'text':
        path.write_text('this is a text file, not a JPEG\n')
    elif how == 'cut200':
        path.write_bytes(data[:200])
    else:
        raise ValueError(how)
    return str(path)


def _copy(src, dst):
    """A writable copy (the shared files are read-only; copyfile leaves the
    mode out)."""
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return Path(dst)


def _raccoon_voc(root, numbers=(1, 2, 3, 4, 5)):
    """A small VOC copy of the shared Raccoon (annotations/ + images/)."""
    need(RACCOON)
    for n in numbers:
        _copy(RACCOON / 'images' / f'raccoon-{n}.jpg',
              root / 'images' / f'raccoon-{n}.jpg')
        _copy(RACCOON / 'annotations' / f'raccoon-{n}.xml',
              root / 'annotations' / f'raccoon-{n}.xml')
    return root


def _aquarium_yolo(root, per_split=2):
    """A small YOLO copy of the shared Aquarium (train + valid)."""
    need(AQUARIUM)
    _copy(AQUARIUM / 'data.yaml', root / 'data.yaml')
    for split in ('train', 'valid'):
        names = sorted(os.listdir(AQUARIUM / split / 'images'))[:per_split]
        for name in names:
            _copy(AQUARIUM / split / 'images' / name,
                  root / split / 'images' / name)
            label = name.rsplit('.', 1)[0] + '.txt'
            _copy(AQUARIUM / split / 'labels' / label,
                  root / split / 'labels' / label)
    return root


def _nothing_left(dst):
    """DST absent, and no temporary folder beside it."""
    assert not dst.exists()
    if dst.parent.exists():
        assert [p.name for p in dst.parent.iterdir()
                if p.name.startswith(f'.{dst.name}.tmp')] == []


# --------------------------------------------------------------- converter
def test_voc_converter_names_every_undecodable_image(tmp_path):
    src = _raccoon_voc(tmp_path / 'voc')
    bad = {how: damage(src / 'images' / f'raccoon-{n}.jpg', how)
           for n, how in zip((2, 3, 5), DAMAGES)}
    dst = tmp_path / 'out' / 'Raccoon'
    with pytest.raises(ConversionError) as err:
        convert(str(src), str(dst), 'voc', split=(0.6, 0.4))
    msg = str(err.value)
    assert msg.startswith('3 source image(s) cannot be decoded')
    for how, path in bad.items():
        assert f'{path} (' in msg and DAMAGES[how] in msg
    assert 'raccoon-1.jpg' not in msg and 'raccoon-4.jpg' not in msg
    assert '\n' not in msg  # a tool prints it as one line
    _nothing_left(dst)
    # the same copy, repaired, converts
    for n in (2, 3, 5):
        _copy(RACCOON / 'images' / f'raccoon-{n}.jpg',
              src / 'images' / f'raccoon-{n}.jpg')
    result = convert(str(src), str(dst), 'voc', split=(0.6, 0.4))
    assert sum(v['images'] for v in result.splits.values()) == 5


@pytest.mark.parametrize('how', list(DAMAGES))
def test_yolo_converter_refuses_an_undecodable_image(tmp_path, how):
    src = _aquarium_yolo(tmp_path / 'aq')
    name = sorted(os.listdir(src / 'valid' / 'images'))[1]
    path = damage(src / 'valid' / 'images' / name, how)
    dst = tmp_path / 'Aquarium'
    with pytest.raises(ConversionError) as err:
        convert(str(src), str(dst), 'yolo')
    msg = str(err.value)
    assert msg.startswith('1 source image(s) cannot be decoded')
    assert f'{path} (' in msg and DAMAGES[how] in msg
    _nothing_left(dst)


def test_roboflow_coco_converter_refuses_an_undecodable_image(tmp_path):
    from PIL import Image
    need(AQUARIUM)
    src = tmp_path / 'rf'
    names = sorted(os.listdir(AQUARIUM / 'test' / 'images'))[:2]
    images = []
    for i, name in enumerate(names):
        with Image.open(AQUARIUM / 'test' / 'images' / name) as im:
            w, h = im.size
        _copy(AQUARIUM / 'test' / 'images' / name, src / 'train' / name)
        images.append(dict(id=i, file_name=name, width=w, height=h))
    coco = dict(images=images,
                annotations=[dict(id=1, image_id=0, category_id=1,
                                  bbox=[10, 10, 50, 40], area=2000,
                                  iscrowd=0)],
                categories=[dict(id=0, name='creatures'),
                            dict(id=1, name='fish')])
    (src / 'train' / '_annotations.coco.json').write_text(json.dumps(coco))
    path = damage(src / 'train' / names[1], 'truncated')
    dst = tmp_path / 'out'
    with pytest.raises(ConversionError) as err:
        convert(str(src), str(dst), 'roboflow-coco')
    assert str(err.value).startswith(
        f'1 source image(s) cannot be decoded: {path} (')
    _nothing_left(dst)


def test_to_odinw_tool_error_is_one_line(tmp_path, capsys):
    src = _raccoon_voc(tmp_path / 'voc', numbers=(1, 2))
    path = damage(src / 'images' / 'raccoon-2.jpg', 'cut200')
    dst = tmp_path / 'Raccoon'
    main = load_tool('to_odinw').main
    argv = [str(src), str(dst), '--format', 'voc', '--split', '0.5', '0.5']
    assert run_tool(main, argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith('error: 1 source image(s) cannot be decoded: '
                          f'{path} (')
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert captured.out == ''
    _nothing_left(dst)
    # --debug: the exception itself, with its traceback
    with pytest.raises(ConversionError, match='cannot be decoded'):
        run_tool(main, argv + ['--debug'])
    _nothing_left(dst)


#: run a tool as its command line does, then list the heavy modules loaded
_RUN = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit as exc:
    status = exc.code
print([m for m in ('torch', 'mmdet', 'mmcv', 'mmengine') if m in sys.modules])
sys.exit(status)
"""


@pytest.mark.parametrize('tool, argv, expected', [
    ('to_odinw', ['{tmp}/none', '{tmp}/dst', '--format', 'voc'],
     'error: SRC {tmp}/none: no such folder.'),
    ('to_odinw', ['{tmp}', '{tmp}', '--format', 'yolo'],
     'error: DST {tmp}: exists and is not an empty folder'),
    ('to_odinw', ['{tmp}', '{tmp}/dst', '--format', 'voc', '--split', '0.5',
                  '0.6'], 'error: --split 0.5 0.6: give 2 or 3'),
    ('check_odinw', ['{tmp}/a.json'],
     'error: annotation file {tmp}/a.json: no such file.'),
    ('check_odinw', ['--config', '{tmp}/c.py'],
     'error: --config {tmp}/c.py: no such file.'),
    ('sample_fewshot', ['{tmp}/a.json', '--shots', '1'],
     'error: annotation file {tmp}/a.json: no such file.'),
    ('sample_fewshot', ['{tmp}/x.txt', '--val-ann', '{tmp}/v.json'],
     'error: --val-ann {tmp}/v.json: no such file.'),
], ids=['src', 'dst', 'split', 'check-ann', 'check-config', 'fewshot-ann',
        'fewshot-val-ann'])
def test_tool_argument_errors_come_first_in_one_line(tmp_path, tool, argv,
                                                     expected):
    """A real process: one line, no traceback, exit status 2, before torch
    / mmdet / mmcv / mmengine are imported (well under a second)."""
    (tmp_path / 'x.txt').write_text('x')
    argv = [a.format(tmp=tmp_path) for a in argv]
    script = REPO / 'tools' / 'dataset_converters' / f'{tool}.py'
    env = {k: v for k, v in os.environ.items() if k != 'MMGLIP_DEBUG'}
    proc = subprocess.run([sys.executable, '-c', _RUN, str(script)] + argv,
                          capture_output=True, text=True, timeout=120,
                          env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(expected.format(tmp=tmp_path))
    assert proc.stderr.count('\n') == 1 and 'Traceback' not in proc.stderr
    assert proc.stdout.strip() == '[]'  # no heavy import yet
    assert not (tmp_path / 'dst').exists()


# ------------------------------------------------------------- check_odinw
@pytest.fixture
def damaged_odinw(tmp_path):
    """A small clean conversion of Raccoon, then three of its images
    damaged in place (as a bad copy or download would)."""
    src = _raccoon_voc(tmp_path / 'voc', numbers=range(1, 9))
    dst = tmp_path / 'Raccoon'
    convert(str(src), str(dst), 'voc', split=(0.5, 0.5), link=False)
    coco = json.loads((dst / 'train' / ANN).read_text())
    names = [i['file_name'] for i in coco['images']]
    bad = {how: damage(dst / 'train' / name, how)
           for name, how in zip(names[1:], DAMAGES)}
    return dst, bad


def test_load_and_validate_lists_every_undecodable_image(damaged_odinw):
    dst, bad = damaged_odinw
    ann = str(dst / 'train' / ANN)
    report = load_and_validate(ann, str(dst / 'train'),
                               check_image_sizes=True)
    assert [i.kind for i in report.errors] == ['unreadable_image'] * 3
    for issue, (how, path) in zip(report.errors, bad.items()):
        assert issue.value == path
        assert f'{path} cannot be decoded (' in issue.message
        assert DAMAGES[how] in issue.message
    # without decoding, a truncated JPEG passes (the header is intact)
    quick = load_and_validate(ann, str(dst / 'train'))
    assert quick.errors == []


def test_check_odinw_lists_each_bad_file(damaged_odinw, capsys):
    dst, bad = damaged_odinw
    main = load_tool('check_odinw').main
    anns = [str(dst / split / ANN) for split in ('train', 'valid')]
    assert run_tool(main, anns) == 1  # decoding is the default
    out = capsys.readouterr().out
    assert f'{anns[0]}: 3 error(s), 0 warning(s)' in out
    assert f'{anns[1]}: no problems found' in out
    for how, path in bad.items():
        line = next(ln for ln in out.splitlines() if f'{path} ' in ln)
        assert 'cannot be decoded' in line and DAMAGES[how] in line
    assert '2 files: 3 error(s), 0 warning(s)' in out
    # --check-sizes (the old opt-in) does the same; --no-decode skips it
    assert run_tool(main, anns + ['--check-sizes']) == 1
    capsys.readouterr()
    assert run_tool(main, anns + ['--no-decode']) == 0
    assert 'cannot be decoded' not in capsys.readouterr().out


def test_check_odinw_config(damaged_odinw, tmp_path, capsys):
    """--config: the raccoon_mini dataset config pointed at the copy (its
    task folder tmp_path/Raccoon, which has no test split: test = valid),
    by plain dataset keys."""
    dst, bad = damaged_odinw
    cfg = tmp_path / 'cfg.py'
    root = str(dst.parent)
    cfg.write_text(
        f'_base_ = [{str(MINI_CONFIG)!r}]\n'
        f'task = dict(root="{dst.name}/", test_split="valid")\n'
        f'train_dataloader = dict(dataset=dict(data_root={root!r}, '
        'task=task))\n'
        f'val_dataloader = dict(dataset=dict(data_root={root!r}, '
        'task=task))\n'
        f'test_dataloader = dict(dataset=dict(data_root={root!r}, '
        'task=task))\n')
    main = load_tool('check_odinw').main
    assert run_tool(main, ['--config', str(cfg)]) == 1
    out = capsys.readouterr().out
    for path in bad.values():
        assert f'{path} cannot be decoded' in out


# ------------------------------------------------------ dataset, load time
def _mini_dataset(root):
    """The raccoon_mini test dataset as its config builds it, with
    data_root pointed at ``root``."""
    from mmengine.config import Config

    from mmglip.registry import DATASETS
    cfg = Config.fromfile(str(MINI_CONFIG))
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = str(root.parent)  # the task folder is raccoon_mini/
    ds_cfg.serialize_data = False
    assert ds_cfg.pipeline[0].type == 'LoadImageChecked'
    return DATASETS.build(ds_cfg)


@pytest.mark.parametrize('how', list(DAMAGES))
def test_dataset_load_raises_image_error_naming_the_file(tmp_path, how):
    root = tmp_path / 'raccoon_mini'
    shutil.copytree(RACCOON_MINI / 'test', root / 'test',
                    copy_function=shutil.copyfile)
    coco = json.loads((root / 'test' / ANN).read_text())
    name = coco['images'][2]['file_name']
    path = damage(root / 'test' / name, how)
    ds = _mini_dataset(root)
    assert len(ds) == len(coco['images'])
    assert ds[0]['inputs'].shape[0] == 3 and ds[1] is not None
    with pytest.raises(ImageError) as err:
        for i in range(len(ds)):
            ds[i]
    assert i == 2
    assert err.value.path == path
    assert str(err.value).startswith(f'{path}: cannot read the image (')
    assert DAMAGES[how] in str(err.value)


# ------------------------------------------------------------------- help
@pytest.mark.parametrize('tool', ['to_odinw', 'check_odinw',
                                  'sample_fewshot'])
def test_tools_help(tool):
    from mmglip.utils.cli import HelpFormatter
    parser = load_tool(tool).build_parser()
    assert parser.formatter_class is HelpFormatter
    for action in parser._actions:
        assert action.help, f'{tool}: {action.dest} has no help text'
    text = parser.format_help()
    assert '--debug' in text and '(default:' in text
    assert 'Exit status' in text  # the docstring is the description
