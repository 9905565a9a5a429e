"""Converters on the real shared data (exact counts) and on small
synthetic exports (Roboflow COCO, YOLO variants, failures)."""
import csv
import json
import os
import shutil

import pytest

from mmglip.utils.cli import run_tool
from odinw_formats import ConversionError, convert, seeded_split
from odinw_formats import write as converter_write
from .conftest import (AQUARIUM, ANN, RACCOON, load, load_tool, need,
                       write_image)

AQUARIUM_COUNTS = {
    'train': (448, 3324),
    'valid': (127, 909),
    'test': (63, 584)
}
AQUARIUM_CLASSES = [
    'fish', 'jellyfish', 'penguin', 'puffin', 'shark', 'starfish', 'stingray'
]


def _counts(dst):
    out = {}
    for split in sorted(os.listdir(dst)):
        coco = load(dst / split / ANN)
        out[split] = (len(coco['images']), len(coco['annotations']))
    return out


def test_aquarium_yolo_counts(aquarium_odinw):
    dst, result = aquarium_odinw
    assert _counts(dst) == AQUARIUM_COUNTS
    assert {k: (v['images'], v['boxes'])
            for k, v in result.splits.items()} == AQUARIUM_COUNTS
    for split, (n_img, _) in AQUARIUM_COUNTS.items():
        coco = load(dst / split / ANN)
        assert [c['name'] for c in coco['categories']] == AQUARIUM_CLASSES
        assert [c['id'] for c in coco['categories']] == list(range(1, 8))
        files = [f for f in os.listdir(dst / split) if f.endswith('.jpg')]
        assert len(files) == n_img
        assert sorted(files) == sorted(i['file_name'] for i in coco['images'])
        ids = [a['id'] for a in coco['annotations']]
        assert len(set(ids)) == len(ids) and min(ids) == 1


def test_aquarium_empty_label_image_kept(aquarium_odinw):
    dst, result = aquarium_odinw
    coco = load(dst / 'train' / ANN)
    with_boxes = {a['image_id'] for a in coco['annotations']}
    empty = [i['file_name'] for i in coco['images']
             if i['id'] not in with_boxes]
    assert empty == [
        'IMG_3133_jpeg_jpg.rf.f439b9d382fd153b96f0a88cdf169172.jpg'
    ]
    assert any('empty label file' in n for n in result.notes)


def test_aquarium_boxes_absolute_with_real_size(aquarium_odinw):
    from PIL import Image
    dst, _ = aquarium_odinw
    coco = load(dst / 'valid' / ANN)
    img = next(i for i in coco['images'] if i['width'] != i['height'])
    stem = img['file_name'].rsplit('.', 1)[0]
    with Image.open(AQUARIUM / 'valid' / 'images' / img['file_name']) as im:
        assert im.size == (img['width'], img['height'])
        W, H = im.size
    lines = (AQUARIUM / 'valid' / 'labels' /
             f'{stem}.txt').read_text().split('\n')
    expected = []
    for line in lines:
        if line.strip():
            c, cx, cy, w, h = line.split()
            cx, cy, w, h = (float(v) for v in (cx, cy, w, h))
            expected.append((int(c) + 1, [(cx - w / 2) * W, (cy - h / 2) * H,
                                          w * W, h * H]))
    got = [(a['category_id'], a['bbox']) for a in coco['annotations']
           if a['image_id'] == img['id']]
    assert len(got) == len(expected)
    for (gc, gb), (ec, eb) in zip(got, expected):
        assert gc == ec
        assert gb == pytest.approx(eb, abs=1e-3)


def test_aquarium_zero_area_boxes_kept_and_named(aquarium_odinw):
    dst, result = aquarium_odinw
    coco = load(dst / 'test' / ANN)
    zero = [a for a in coco['annotations']
            if a['bbox'][2] <= 0 or a['bbox'][3] <= 0]
    assert len(zero) == 2  # the source has two "w h = 0 0" lines
    msgs = [w for w in result.warnings if 'zero or negative' in w]
    assert len(msgs) == 2
    for a in zero:
        assert any(f'annotation id {a["id"]} ' in m for m in msgs)


def test_raccoon_voc_seeded_split(raccoon_odinw, tmp_path):
    dst, result = raccoon_odinw
    counts = _counts(dst)
    assert sum(n for n, _ in counts.values()) == 200
    assert sum(b for _, b in counts.values()) == 217
    assert {k: n for k, (n, _) in counts.items()} == dict(
        train=150, valid=30, test=20)
    assert result.categories == ['raccoon']
    # the split depends on the seed only, not on the order names come in
    names = sorted(os.listdir(RACCOON / 'images'))
    split0 = seeded_split(names, (0.75, 0.15, 0.1), 0)
    assert seeded_split(names[::-1], (0.75, 0.15, 0.1), 0) == split0
    assert seeded_split(names, (0.75, 0.15, 0.1), 1) != split0
    for part in ('train', 'valid', 'test'):
        got = sorted(i['file_name']
                     for i in load(dst / part / ANN)['images'])
        assert got == sorted(split0[part]), part
    # boxes: every VOC box, corners as they are (x, y, x2 - x, y2 - y),
    # read here from the authors' XML files, in whichever split it went
    import xml.etree.ElementTree as ET
    expect = {}
    for xml in (RACCOON / 'annotations').glob('*.xml'):
        root = ET.parse(xml).getroot()
        boxes = []
        for obj in root.iter('object'):
            b = {k: int(float(obj.find('bndbox').find(k).text))
                 for k in ('xmin', 'ymin', 'xmax', 'ymax')}
            boxes.append([b['xmin'], b['ymin'], b['xmax'] - b['xmin'],
                          b['ymax'] - b['ymin']])
        expect[root.find('filename').text] = sorted(boxes)
    got = {}
    for part in ('train', 'valid', 'test'):
        coco = load(dst / part / ANN)
        names_by_id = {i['id']: i['file_name'] for i in coco['images']}
        for i in coco['images']:
            got.setdefault(i['file_name'], [])
        for a in coco['annotations']:
            got[names_by_id[a['image_id']]].append(
                [round(v) for v in a['bbox']])
    assert {k: sorted(v) for k, v in got.items()} == expect
    assert got['raccoon-1.jpg'] == [[81, 88, 441, 320]]


def test_raccoon_voc_authors_split(tmp_path):
    need(RACCOON)
    dst = tmp_path / 'rc'
    lists = dict(train=str(RACCOON / 'data' / 'train_labels.csv'),
                 valid=str(RACCOON / 'data' / 'test_labels.csv'))
    convert(str(RACCOON), str(dst), 'voc', split_lists=lists, link=True)
    counts = _counts(dst)
    for split, path in lists.items():
        with open(path) as f:
            rows = list(csv.DictReader(f))
        assert counts[split] == (len({r['filename'] for r in rows}),
                                 len(rows))
    assert counts == dict(train=(160, 173), valid=(40, 44))


def test_never_overwrite(raccoon_odinw, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv('MMGLIP_DEBUG', raising=False)
    dst, _ = raccoon_odinw
    before = sorted(p.name for p in dst.rglob('*'))
    with pytest.raises(FileExistsError, match='never overwrites'):
        convert(str(RACCOON), str(dst), 'voc')
    assert sorted(p.name for p in dst.rglob('*')) == before
    # the tool says so in one line and fails (exit status 2, a user error)
    to_odinw = load_tool('to_odinw')
    assert run_tool(to_odinw.main,
                    [str(RACCOON), str(dst), '--format', 'voc']) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'error: DST {dst}: exists and is not an empty '
                          'folder; the converter never overwrites')
    assert err.count('\n') == 1
    # an empty folder is fine
    empty = tmp_path / 'empty'
    empty.mkdir()
    convert(str(RACCOON), str(empty), 'voc', split=(0.5, 0.5), link=True)
    assert sorted(os.listdir(empty)) == ['train', 'valid']


def _tiny_yolo(root, layout='roboflow', lines=None):
    (root).mkdir(parents=True)
    (root / 'data.yaml').write_text(
        "names: ['cat', 'dog']\nnc: 2\ntrain: ../train/images\n")
    lines = lines or {'a': '0 0.5 0.5 0.5 0.5\n1 0.25 0.25 0.5 0.5',
                      'b': ''}
    for split in ('train', 'val'):
        for stem, text in lines.items():
            if layout == 'roboflow':
                img = root / split / 'images' / f'{stem}.png'
                lab = root / split / 'labels' / f'{stem}.txt'
            elif layout == 'ultralytics':
                img = root / 'images' / split / f'{stem}.png'
                lab = root / 'labels' / split / f'{stem}.txt'
            else:
                img = root / 'images' / f'{split}{stem}.png'
                lab = root / 'labels' / f'{split}{stem}.txt'
            write_image(img, (40, 20))
            lab.parent.mkdir(parents=True, exist_ok=True)
            lab.write_text(text)
    return root


@pytest.mark.parametrize('layout', ['roboflow', 'ultralytics', 'flat'])
def test_yolo_layouts(tmp_path, layout):
    src = _tiny_yolo(tmp_path / 'src', layout)
    dst = tmp_path / 'dst'
    kwargs = dict(split=(0.5, 0.5), seed=3) if layout == 'flat' else {}
    result = convert(str(src), str(dst), 'yolo', **kwargs)
    assert sorted(os.listdir(dst)) == ['train', 'valid']
    assert result.categories == ['cat', 'dog']
    total = sum(v['images'] for v in result.splits.values())
    assert total == 4
    coco = load(dst / 'train' / ANN)
    boxes = sorted(a['bbox'] for a in coco['annotations'])
    assert boxes and boxes[0] in ([0, 0, 20, 10], [10, 5, 20, 10])
    if layout != 'flat':
        assert sorted(a['bbox'] for a in coco['annotations']) == [
            [0, 0, 20, 10], [10, 5, 20, 10]]


def test_yolo_bad_line_leaves_nothing(tmp_path):
    src = _tiny_yolo(tmp_path / 'src', lines={'a': '5 0.5 0.5 0.1 0.1'})
    dst = tmp_path / 'out' / 'dst'
    with pytest.raises(ConversionError, match=r'a\.txt:1: class index 5'):
        convert(str(src), str(dst), 'yolo')
    assert not dst.exists()
    out = tmp_path / 'out'
    assert not out.exists() or not os.listdir(out)  # no temp folder left


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    """An error (or Ctrl-C) in the middle of copying: the temporary folder
    is removed and DST never appears."""
    src = _tiny_yolo(tmp_path / 'src')
    real_place, placed = converter_write._place, []

    def place(src_path, target, link):
        if len(placed) == 2:
            raise KeyboardInterrupt
        real_place(src_path, target, link)
        placed.append(target)

    monkeypatch.setattr(converter_write, '_place', place)
    dst = tmp_path / 'out' / 'dst'
    with pytest.raises(KeyboardInterrupt):
        convert(str(src), str(dst), 'yolo')
    assert len(placed) == 2 and all('.dst.tmp-' in p for p in placed)
    assert not dst.exists() and os.listdir(tmp_path / 'out') == []
    monkeypatch.undo()
    convert(str(src), str(dst), 'yolo')
    assert sorted(os.listdir(dst)) == ['train', 'valid']


def test_tool_split_list_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv('MMGLIP_DEBUG', raising=False)
    need(RACCOON)
    main = load_tool('to_odinw').main
    base = [str(RACCOON), str(tmp_path / 'dst'), '--format', 'voc']
    assert run_tool(main, base + ['--split-lists', 'train']) == 2
    assert "--split-lists 'train': write SPLIT=FILE" in capsys.readouterr(
    ).err
    assert run_tool(main, base + ['--split-lists', 'tr=data/a.csv']) == 2
    assert "the split is one of train, valid, val, test, not 'tr'" in \
        capsys.readouterr().err
    assert run_tool(main, base + ['--split-lists', 'train=nope.csv']) == 2
    assert f'{RACCOON}/nope.csv: no such file.' in capsys.readouterr().err
    assert run_tool(main, base + [
        '--split-lists', 'train=data/train_labels.csv', '--split', '0.5',
        '0.5']) == 2
    assert 'either --split or --split-lists' in capsys.readouterr().err
    assert not (tmp_path / 'dst').exists()


def _roboflow_export(root, bg_used=False):
    for split in ('train', 'valid'):
        folder = root / split
        write_image(folder / f'{split}1.jpg', (30, 20))
        write_image(folder / f'{split}2.jpg', (30, 20))
        coco = dict(
            info={'description': 'rf'},
            categories=[
                dict(id=0, name='animals', supercategory='none'),
                dict(id=1, name='cat', supercategory='animals'),
                dict(id=2, name='dog', supercategory='animals')
            ],
            images=[
                dict(id=0, file_name=f'{split}1.jpg', width=30, height=20),
                dict(id=1, file_name=f'{split}2.jpg', width=30, height=20)
            ],
            annotations=[
                dict(id=0, image_id=0, category_id=0 if bg_used else 1,
                     bbox=[1, 2, 10, 5], area=50, iscrowd=0,
                     segmentation=[]),
                dict(id=1, image_id=1, category_id=2, bbox=[3, 3, 4, 4],
                     area=16, iscrowd=0, segmentation=[])
            ])
        (folder / '_annotations.coco.json').write_text(json.dumps(coco))
    return root


def test_roboflow_coco(tmp_path):
    src = _roboflow_export(tmp_path / 'src')
    dst = tmp_path / 'dst'
    result = convert(str(src), str(dst), 'roboflow-coco')
    assert result.categories == ['cat', 'dog']
    assert any("background category id 0 'animals' dropped" in n
               for n in result.notes)
    for split in ('train', 'valid'):
        coco = load(dst / split / ANN)
        assert coco['categories'] == [
            dict(id=1, name='cat', supercategory='animals'),
            dict(id=2, name='dog', supercategory='animals')
        ]
        assert [a['category_id'] for a in coco['annotations']] == [1, 2]
        assert [a['id'] for a in coco['annotations']] == [1, 2]  # no id 0
        assert [i['id'] for i in coco['images']] == [0, 1]  # kept
        assert coco['info'] == {'description': 'rf'}
        assert sorted(os.listdir(dst / split)) == sorted(
            [ANN, f'{split}1.jpg', f'{split}2.jpg'])


def test_roboflow_coco_image_size_differing_from_the_json_warns(tmp_path):
    src = _roboflow_export(tmp_path / 'src')
    write_image(src / 'valid' / 'valid2.jpg', (20, 30))  # rotated
    result = convert(str(src), str(tmp_path / 'dst'), 'roboflow-coco')
    msgs = [w for w in result.warnings if 'in the json' in w]
    assert len(msgs) == 1
    assert "image id 1 ('valid2.jpg') is 20x30 but 30x20 in the json" in \
        msgs[0]
    coco = load(tmp_path / 'dst' / 'valid' / ANN)
    assert coco['images'][1]['width'] == 30  # written as in the source


def test_roboflow_coco_category_0_with_boxes_is_an_error(tmp_path):
    src = _roboflow_export(tmp_path / 'src', bg_used=True)
    with pytest.raises(ConversionError, match="category id 0 .'animals'. "
                       'has 1 annotation'):
        convert(str(src), str(tmp_path / 'dst'), 'roboflow-coco')
    assert not (tmp_path / 'dst').exists()


def test_voc_missing_image_is_an_error(tmp_path):
    need(RACCOON)
    src = tmp_path / 'voc'
    (src / 'annotations').mkdir(parents=True)
    (src / 'images').mkdir()
    for n in (1, 2):
        shutil.copy(RACCOON / 'annotations' / f'raccoon-{n}.xml',
                    src / 'annotations')
    shutil.copy(RACCOON / 'images' / 'raccoon-1.jpg', src / 'images')
    with pytest.raises(ConversionError, match=r"raccoon-2\.xml: its image "
                       r"'raccoon-2\.jpg' is missing"):
        convert(str(src), str(tmp_path / 'dst'), 'voc')
