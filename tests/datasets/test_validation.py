"""Bad annotation files: what is an error, what is clipped / dropped, and
that every message names the file, image, annotation id and value."""
import pytest

from mmglip.datasets import ODinWDataError, ODinWDataWarning, validate_coco
from mmglip.registry import DATASETS
from .conftest import ANN, RACCOON_TRAIN, load_tool, write_coco, write_image

CATS = [(1, 'cat'), (2, 'dog')]


def _tree(tmp_path, anns, images=None, cats=CATS, missing=()):
    images = images or [(1, 'a.png', 16, 12), (2, 'b.png', 16, 12)]
    for _, f, w, h in images:
        if f not in missing:
            write_image(tmp_path / 'train' / f, (max(w, 1), max(h, 1)))
    return write_coco(tmp_path / 'train' / 'ann.json', images, anns, cats)


def _build(tmp_path, classes=('cat', 'dog'), **kwargs):
    return DATASETS.build(
        dict(type='ODinWDataset', data_root=str(tmp_path),
             ann_file='train/ann.json', data_prefix=dict(img='train/'),
             metainfo=dict(classes=classes) if classes else None,
             return_classes=True, test_mode=True, serialize_data=False,
             **kwargs))


def test_clean_file_loads(tmp_path):
    _tree(tmp_path, [(1, 1, 1, [1, 1, 5, 5]), (2, 2, 2, [0, 0, 16, 12])])
    ds = _build(tmp_path)
    assert len(ds) == 2 and ds.validation_report.issues == []
    assert ds.get_data_info(1)['instances'][0]['bbox_label'] == 1
    assert ds.get_data_info(0)['text'] == ('cat', 'dog')
    # classes default to the file's categories, not COCO's 80
    assert _build(tmp_path, classes=None).metainfo['classes'] == (
        'cat', 'dog')


def test_box_partly_outside_is_clipped_with_a_warning(tmp_path):
    _tree(tmp_path, [(7, 1, 1, [10, 8, 10, 10]), (8, 2, 2, [2, 2, 4, 4])])
    with pytest.warns(ODinWDataWarning) as rec:
        ds = _build(tmp_path)
    text = str(rec[0].message)
    assert 'annotation id 7 (image id 1' in text and "'a.png'" in text
    assert '[10, 8, 10, 10]' in text and 'clipped to [10, 8, 6, 4]' in text
    assert 'train/ann.json' in text
    assert ds.get_data_info(0)['instances'][0]['bbox'] == [10, 8, 16, 12]


def test_zero_area_and_outside_boxes_are_dropped_with_a_warning(tmp_path):
    _tree(tmp_path, [(3, 1, 1, [4, 4, 0, 5]), (4, 1, 2, [20, 20, 5, 5]),
                     (5, 1, 1, [1, 1, 3, 3]), (6, 2, 2, [2, 2, -1, 4])])
    with pytest.warns(ODinWDataWarning) as rec:
        ds = _build(tmp_path)
    text = str(rec[0].message)
    for aid, box in ((3, '[4, 4, 0, 5]'), (4, '[20, 20, 5, 5]'),
                     (6, '[2, 2, -1, 4]')):
        assert f'annotation id {aid} ' in text and box in text
    assert 'zero or negative width/height; dropped' in text
    assert 'lies outside the image; dropped' in text
    assert [i['bbox'] for i in ds.get_data_info(0)['instances']] == [
        [1, 1, 4, 4]]
    assert ds.get_data_info(1)['instances'] == []
    kinds = sorted(i.kind for i in ds.validation_report.warnings)
    assert kinds == ['box_outside', 'zero_area', 'zero_area']


def test_real_box_moved_outside_its_image_is_dropped_and_named(tmp_path):
    """The embedded Raccoon task's real file, one box moved beyond its
    image's right edge: the warning (one line for it) names the file and
    the annotation id, and that box alone is missing once loaded."""
    import json
    import shutil
    import warnings
    root = tmp_path / 'raccoon_mini'
    shutil.copytree(RACCOON_TRAIN, root / 'train')
    ann_file = root / 'train' / ANN
    coco = json.loads(ann_file.read_text())
    task = dict(name='raccoon_mini', root='raccoon_mini/',
                classes=('raccoon', ))

    def build():
        return DATASETS.build(dict(
            type='ODinWDataset', data_root=str(tmp_path), task=task,
            split='train', pipeline=[], serialize_data=False))

    with warnings.catch_warnings():
        warnings.simplefilter('error', ODinWDataWarning)
        before = build()  # the file as shipped: no warning
    counts = {i['img_id']: len(i['instances']) for i in before.data_list}
    ann = coco['annotations'][0]
    img = next(i for i in coco['images'] if i['id'] == ann['image_id'])
    ann['bbox'] = [img['width'] + 5, 10, 30, 30]
    ann_file.write_text(json.dumps(coco))
    with pytest.warns(ODinWDataWarning) as rec:
        after = build()
    lines = [ln for r in rec for ln in str(r.message).splitlines()
             if f'annotation id {ann["id"]} ' in ln]
    assert len(lines) == 1, [str(r.message) for r in rec]
    assert str(ann_file) in lines[0]
    assert f"(image id {img['id']}, {img['file_name']!r})" in lines[0]
    assert f"in a {img['width']}x{img['height']} image lies outside the " \
        'image; dropped when loaded' in lines[0]
    assert [i.kind for i in after.validation_report.warnings] == [
        'box_outside']
    counts[img['id']] -= 1
    assert {i['img_id']: len(i['instances'])
            for i in after.data_list} == counts


def test_missing_image_is_an_error_naming_the_path(tmp_path):
    _tree(tmp_path, [(1, 1, 1, [1, 1, 5, 5])], missing=('b.png', ))
    with pytest.raises(ODinWDataError) as err:
        _build(tmp_path)
    msg = str(err.value)
    assert f'{tmp_path}/train/b.png does not exist' in msg
    assert "image id 2 ('b.png') is missing on disk" in msg
    # the check can be switched off (e.g. images on a remote backend)
    assert len(_build(tmp_path, check_images=False)) == 2


def test_config_class_absent_is_an_error_listing_the_categories(tmp_path):
    _tree(tmp_path, [(1, 1, 1, [1, 1, 5, 5])])
    with pytest.raises(ODinWDataError) as err:
        _build(tmp_path, classes=('cat', 'Dog', 'bird'))
    msg = str(err.value)
    assert "['Dog', 'bird'] are not categories of" in msg
    assert "'cat' (id 1), 'dog' (id 2)" in msg
    assert "'Dog' differs only in case from 'dog'" in msg


def test_class_order_differing_from_the_file_is_an_error(tmp_path):
    _tree(tmp_path, [(1, 1, 1, [1, 1, 5, 5])])
    with pytest.raises(ODinWDataError, match='another order'):
        _build(tmp_path, classes=('dog', 'cat'))
    assert _build(tmp_path, classes=('dog', )).cat_ids == [2]  # subset: ok


@pytest.mark.parametrize('case, kind', [
    ('dup_ann', 'duplicate_annotation_id'),
    ('unknown_cat', 'unknown_category'),
    ('unknown_img', 'unknown_image'),
    ('bad_bbox', 'bad_bbox'),
    ('dup_cat_name', 'duplicate_category_name'),
    ('bad_size', 'bad_image'),
])
def test_malformed_entries_are_errors(tmp_path, case, kind):
    anns = [(1, 1, 1, [1, 1, 5, 5]), (2, 2, 2, [1, 1, 5, 5])]
    cats, images = CATS, None
    if case == 'dup_ann':
        anns[1] = (1, 2, 2, [1, 1, 5, 5])
    elif case == 'unknown_cat':
        anns[1] = (2, 2, 9, [1, 1, 5, 5])
    elif case == 'unknown_img':
        anns[1] = (2, 9, 2, [1, 1, 5, 5])
    elif case == 'bad_bbox':
        anns[1] = (2, 2, 2, [1, 1, 5])
    elif case == 'dup_cat_name':
        cats = CATS + [(3, 'dog')]
    elif case == 'bad_size':
        images = [(1, 'a.png', 16, 12), (2, 'b.png', 0, 12)]
    path = _tree(tmp_path, anns, images, cats)
    import json
    report = validate_coco(json.load(open(path)), path,
                           str(tmp_path / 'train'), ['cat', 'dog'])
    assert kind in [i.kind for i in report.errors], report.format()
    with pytest.raises(ODinWDataError, match=str(path)):
        report.raise_if_errors()


def test_annotation_id_0_warns(tmp_path):
    import json
    path = _tree(tmp_path, [(0, 1, 1, [1, 1, 5, 5])])
    report = validate_coco(json.load(open(path)), path)
    assert [i.kind for i in report.warnings] == ['annotation_id_0']
    assert 'false positives' in report.warnings[0].message


def test_image_size_check(tmp_path):
    import json
    path = _tree(tmp_path, [(1, 1, 1, [1, 1, 5, 5])],
                 images=[(1, 'a.png', 16, 12)])
    write_image(tmp_path / 'train' / 'a.png', (12, 16))  # rotated copy
    coco = json.load(open(path))
    assert validate_coco(coco, path, str(tmp_path / 'train')).errors == []
    report = validate_coco(coco, path, str(tmp_path / 'train'),
                           check_image_sizes=True)
    assert [i.kind for i in report.errors] == ['image_size']
    assert 'is 12x16 on disk but 16x12 in the json' in report.errors[0].message


def test_undecodable_images_are_errors_with_sizes_checked(tmp_path):
    import json
    path = _tree(tmp_path, [(1, 1, 1, [1, 1, 5, 5])])
    (tmp_path / 'train' / 'a.png').write_text('not a png')
    data = (tmp_path / 'train' / 'b.png').read_bytes()
    (tmp_path / 'train' / 'b.png').write_bytes(data[:len(data) // 2])
    coco = json.load(open(path))
    img_dir = str(tmp_path / 'train')
    assert validate_coco(coco, path, img_dir).errors == []  # they exist
    report = validate_coco(coco, path, img_dir, check_image_sizes=True)
    assert [i.kind for i in report.errors] == ['unreadable_image'] * 2
    a, b = (m.message for m in report.errors)
    assert f"image id 1 ('a.png'): {img_dir}/a.png cannot be decoded (not " \
        'an image' in a
    assert f'{img_dir}/b.png cannot be decoded (' in b


def test_report_format_max_items(tmp_path):
    import json
    anns = [(i, 1, 1, [20, 20, 5, 5]) for i in range(1, 6)]
    path = _tree(tmp_path, anns)
    report = validate_coco(json.load(open(path)), path)
    assert len(report.warnings) == 5
    text = report.format(max_items=2)
    assert text.count('lies outside') == 2
    assert "... and 3 more 'box_outside' issue(s)" in text
    for everything in (0, None):
        assert report.format(max_items=everything).count(
            'lies outside') == 5


def test_image_size_names_the_file(tmp_path):
    from mmglip.utils.images import image_size
    from mmglip.utils.images import ImageError
    write_image(tmp_path / 'a.png', (16, 12))
    assert image_size(str(tmp_path / 'a.png'), decode=True) == (16, 12)
    (tmp_path / 'b.jpg').write_text('text')
    for decode in (False, True):
        with pytest.raises(ImageError, match=f'{tmp_path}/b.jpg: cannot '
                           'read the image'):
            image_size(str(tmp_path / 'b.jpg'), decode=decode)
        with pytest.raises(ImageError, match='no such file'):
            image_size(str(tmp_path / 'c.jpg'), decode=decode)


def test_check_odinw_tool(tmp_path, capsys):
    path = _tree(tmp_path, [(1, 1, 1, [1, 1, 5, 5]), (2, 2, 2, [9, 9, 0, 0])],
                 missing=('b.png', ))
    main = load_tool('check_odinw').main
    assert main([path, '--classes', 'cat', 'dog']) == 1
    out = capsys.readouterr().out
    assert '1 error(s), 1 warning(s)' in out and 'b.png does not exist' in out
    write_image(tmp_path / 'train' / 'b.png')
    assert main([path]) == 0
    assert main([path, '--classes', 'cow']) == 1
    assert "['cow'] are not categories" in capsys.readouterr().out
    # a real size differing from the json: an error (sizes are checked by
    # default), not with --no-decode
    write_image(tmp_path / 'train' / 'b.png', (12, 16))
    assert main([path]) == 1
    assert 'is 12x16 on disk but 16x12 in the json' in capsys.readouterr(
    ).out
    assert main([path, '--no-decode']) == 0


def test_check_odinw_tool_argument_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv('MMGLIP_DEBUG', raising=False)
    from mmglip.utils.cli import run_tool
    path = _tree(tmp_path, [(1, 1, 1, [1, 1, 5, 5])])
    main = load_tool('check_odinw').main
    assert run_tool(main, [path, str(tmp_path / 'no.json')]) == 2
    err = capsys.readouterr().err
    assert err == f'error: annotation file {tmp_path}/no.json: no such ' \
        'file.\n'
    assert run_tool(main, [path, '--img-dir', str(tmp_path / 'no')]) == 2
    assert f'--img-dir {tmp_path}/no: no such folder' in capsys.readouterr(
    ).err
    cfg = tmp_path / 'cfg.py'
    cfg.write_text('model = dict(type="x")\n')
    assert run_tool(main, ['--config', str(cfg)]) == 2
    assert 'no train / val / test dataloader' in capsys.readouterr().err
    cfg.write_text('model = dict(\n')
    assert run_tool(main, ['--config', str(cfg)]) == 2
    assert f'--config {cfg}: cannot be loaded' in capsys.readouterr().err
    for argv in ([], [path, '--config', str(cfg)],
                 [path, '--no-decode', '--check-sizes']):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2  # argparse's usage error


def test_fix_box_is_the_one_rule_for_boxes():
    from mmglip.datasets.validation import fix_box
    assert fix_box([10, 20, 30, 40], 100, 80) == ([10, 20, 30, 40], None)
    clipped = ([90, 70, 10, 10], 'box_clipped')
    assert fix_box([90, 70, 30, 40], 100, 80) == clipped
    assert fix_box([-5, 0, 10, 10], 100, 80) == ([0, 0, 5, 10], 'box_clipped')
    assert fix_box([10, 20, 0, 40], 100, 80) == (None, 'zero_area')
    assert fix_box([150, 20, 30, 40], 100, 80) == (None, 'box_outside')
    assert fix_box([99.5, 20, 30, 40], 100, 80) == (None, 'tiny_box')
