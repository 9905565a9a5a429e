"""Flickr30kDataset: MDETR-format captions with phrase spans over real
Aquarium images; bad spans, unknown images and missing files are one
``error:`` line from tools/test.py naming the file."""
import json

import pytest

from mmglip.datasets import Flickr30kDataError, Flickr30kDataset

from ..evaluation.grounding_data import (lite_checkpoint, make_flickr,
                                         need_shared_data, tools_test_error)


@pytest.fixture(scope='module')
def flickr_root(tmp_path_factory):
    need_shared_data()
    root = tmp_path_factory.mktemp('flickr_ds')
    ann_file, img_dir, data = make_flickr(root)
    return root, ann_file, data


def _dataset(root, ann_file):
    return Flickr30kDataset(
        data_root=str(root), ann_file=str(ann_file),
        data_prefix=dict(img='flickr30k_images/'), test_mode=True,
        pipeline=[])


def test_samples_carry_caption_phrases_and_boxes(flickr_root):
    root, ann_file, data = flickr_root
    ds = _dataset(root, ann_file)
    assert len(ds) == len(data['images'])
    last = ds[3]
    img = data['images'][3]
    assert last['text'] == img['caption']
    assert last['tokens_positive'] == img['tokens_positive_eval']
    assert last['phrases'] == ['A fish', 'a starfish', 'it']
    # "A fish" and "it" share the same box (its tokens_positive has both)
    by_phrase = {}
    for inst in last['instances']:
        by_phrase.setdefault(inst['bbox_label'], []).append(inst['bbox'])
    assert by_phrase[0] == by_phrase[2] and len(by_phrase[0]) == 1
    assert last['phrase_ids'] == [i['bbox_label'] for i in last['instances']]
    first = ds[0]
    assert first['img_path'] == str(root / 'flickr30k_images/100.jpg')
    fish = [i for i in first['instances'] if i['bbox_label'] == 2]
    assert len(fish) > 5  # "many fish": every fish box, separately


def _broken(root, data, name, change):
    bad = json.loads(json.dumps(data))
    change(bad)
    path = root / name
    path.write_text(json.dumps(bad))
    return path


def test_broken_files_are_named(flickr_root):
    root, ann_file, data = flickr_root

    def eval_span_outside(d):
        d['images'][1]['tokens_positive_eval'][0] = [[20, 200]]

    def ann_span_outside(d):
        d['annotations'][0]['tokens_positive'] = [[-1, 3]]

    def unknown_image(d):
        d['annotations'][0]['image_id'] = 77

    def phrase_without_box(d):
        d['images'][2]['tokens_positive_eval'].append([[2, 10]])

    def no_caption(d):
        del d['images'][0]['caption']

    cases = [(eval_span_outside, 'span [20, 200] lies outside its caption'),
             (ann_span_outside, 'span [-1, 3] lies outside its caption'),
             (unknown_image, 'image id 77 is not in "images"'),
             (phrase_without_box, "phrase #2 'starfish' (span [2, 10])"),
             (no_caption, 'has no "caption"')]
    for change, text in cases:
        path = _broken(root, data, f'{change.__name__}.json', change)
        with pytest.raises(Flickr30kDataError) as err:
            _dataset(root, path)
        msg = str(err.value)
        assert str(path) in msg and text in msg and '\n' not in msg, msg


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return lite_checkpoint(tmp_path_factory.mktemp('ckpt') / 'lite.pth')


def _test_tool(root, checkpoint, capsys, ann, img='flickr30k_images/',
               eval_ann=None):
    return tools_test_error(root, checkpoint, capsys, 'flickr30k_val.py', ann,
                            img, eval_ann)


def test_tools_test_names_bad_spans_and_missing_files(flickr_root, checkpoint,
                                                      capsys):
    root, ann_file, data = flickr_root
    _broken(root, data, 'span.json', lambda d: d['annotations'][2].update(
        tokens_positive=[[40, 99]]))
    line = _test_tool(root, checkpoint, capsys, 'span.json')
    assert str(root / 'span.json') in line
    assert 'span [40, 99] lies outside its caption' in line
    line = _test_tool(root, checkpoint, capsys,
                      'final_flickr_separateGT_test.json', eval_ann=ann_file)
    assert str(root / 'final_flickr_separateGT_test.json') in line
    assert 'mdetr_annotations' in line and 'DenotationGraph' in line
    line = _test_tool(root, checkpoint, capsys, ann_file.name,
                      img='images/')
    assert f'image folder {root}/images does not exist' in line
