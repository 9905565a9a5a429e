"""LVISV1Dataset: an LVIS v1-format file over COCO-2017-placed images (real
Aquarium pictures and boxes) loads with the file's classes; a broken layout
is one ``error:`` line from tools/test.py naming the file."""
import json

import pytest

from mmglip.datasets import LVISDataError, LVISV1Dataset

from ..evaluation.grounding_data import (lite_checkpoint, make_lvis,
                                         need_shared_data, tools_test_error)


@pytest.fixture(scope='module')
def lvis_root(tmp_path_factory):
    need_shared_data()
    root = tmp_path_factory.mktemp('lvis_ds')
    ann_file, coco_root, data = make_lvis(root)
    return root, ann_file, data


def _dataset(root, ann_file, **kwargs):
    return LVISV1Dataset(
        data_root=str(root), ann_file=str(ann_file),
        data_prefix=dict(img='coco/'), test_mode=True, return_classes=True,
        pipeline=[], **kwargs)


def test_loads_images_through_coco_url_with_the_files_classes(lvis_root):
    root, ann_file, data = lvis_root
    ds = _dataset(root, ann_file)
    names = [c['name'] for c in data['categories']]
    assert ds.metainfo['classes'] == tuple(names)
    assert len(ds) == len(data['images'])
    first, second = ds[0], ds[1]
    assert first['img_path'] == str(root / 'coco/train2017/000000000001.jpg')
    assert second['img_path'] == str(root / 'coco/val2017/000000000002.jpg')
    assert first['text'] == tuple(names)  # the prompt: all 100 classes
    # labels follow the file's category order (ids non-contiguous)
    name2id = {c['name']: c['id'] for c in data['categories']}
    assert ds.cat_ids == [name2id[n] for n in names]
    want = sorted(names.index(next(c['name'] for c in data['categories']
                                   if c['id'] == a['category_id']))
                  for a in data['annotations'] if a['image_id'] == 500)
    assert sorted(i['bbox_label'] for i in first['instances']) == want


def _broken(root, data, name, change):
    bad = json.loads(json.dumps(data))
    change(bad)
    path = root / 'lvis' / name
    path.write_text(json.dumps(bad))
    return path


def test_broken_files_are_named(lvis_root):
    root, ann_file, data = lvis_root

    def unknown_cat(d):
        d['annotations'][3]['category_id'] = 4242

    def no_freq(d):
        del d['categories'][5]['frequency']

    def no_neg(d):
        del d['images'][1]['neg_category_ids']

    def neg_unknown(d):
        d['images'][0]['neg_category_ids'].append(99999)

    cases = [(unknown_cat, 'category_id 4242 is not in "categories"'),
             (no_freq, 'has frequency None'),
             (no_neg, 'no list "neg_category_ids"'),
             (neg_unknown, 'category id 99999')]
    for change, text in cases:
        path = _broken(root, data, f'{change.__name__}.json', change)
        with pytest.raises(LVISDataError) as err:
            _dataset(root, path)
        msg = str(err.value)
        assert str(path) in msg and text in msg and '\n' not in msg, msg
    with pytest.raises(LVISDataError, match='metainfo.classes'):
        _dataset(root, ann_file, metainfo=dict(classes=('raccoon', )))


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return lite_checkpoint(tmp_path_factory.mktemp('ckpt') / 'lite.pth')


def _test_tool(root, checkpoint, capsys, ann, img='coco/',
               eval_ann=None):
    return tools_test_error(root, checkpoint, capsys, 'lvis_v1_minival.py',
                            ann, img, eval_ann)


def test_tools_test_names_missing_files_and_unknown_ids(lvis_root, checkpoint,
                                                        capsys):
    root, ann_file, data = lvis_root
    line = _test_tool(root, checkpoint, capsys,
                      'lvis/lvis_v1_minival_missing.json',
                      eval_ann=ann_file)
    assert str(root / 'lvis/lvis_v1_minival_missing.json') in line
    assert 'lvisdataset.org' in line and 'GLIPModel/GLIP' in line
    _broken(root, data, 'unknown.json', lambda d: d['annotations'][0].update(
        category_id=777))
    line = _test_tool(root, checkpoint, capsys, 'lvis/unknown.json')
    assert str(root / 'lvis/unknown.json') in line
    assert 'category_id 777 is not in "categories"' in line
    line = _test_tool(root, checkpoint, capsys, ann_file.relative_to(root),
                      img='images/')
    assert f'image folder {root}/images/train2017 does not exist' in line
    assert 'cocodataset.org' in line
    # the evaluator's file missing (the dataset's is there)
    line = _test_tool(root, checkpoint, capsys, ann_file.relative_to(root),
                      eval_ann=root / 'lvis/other.json')
    assert str(root / 'lvis/other.json') in line
    assert 'test_evaluator.ann_file' in line
