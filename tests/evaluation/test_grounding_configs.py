"""The LVIS and Flickr30k configs: the model of the matching zero-shot COCO
config, only the data, chunking, detections per image and metric changed."""
import pytest
from mmengine.config import Config

from ..conftest import REPO

VARIANTS = ['swin-t_a', 'swin-t_b', 'swin-t_c', 'swin-t', 'swin-l']


def _cfg(name):
    return Config.fromfile(str(REPO / 'configs/glip' / f'glip_{name}.py'))


@pytest.mark.parametrize('variant', VARIANTS)
def test_lvis_minival_configs(variant):
    coco = _cfg(f'{variant}_zeroshot_coco').model.to_dict()
    lvis = _cfg(f'{variant}_zeroshot_lvis_minival')
    model = lvis.model.to_dict()
    assert model.pop('chunk_size') == 40
    assert model['test_cfg'].pop('max_per_img') == 300
    coco['test_cfg'].pop('max_per_img')
    coco.pop('chunk_size', None)
    assert model == coco
    ds = lvis.test_dataloader.dataset
    assert ds.type == 'LVISV1Dataset' and ds.return_classes
    assert ds.data_root + ds.ann_file == \
        'data/lvis/lvis_v1_minival_inserted_image_name.json'
    assert ds.data_prefix.img == 'coco/'
    assert lvis.test_evaluator.type == 'LVISFixedAPMetric'
    assert lvis.test_evaluator.ann_file == ds.data_root + ds.ann_file
    assert lvis.test_evaluator.topk == 10000


def test_lvis_val_dataset_config():
    cfg = Config.fromfile(
        str(REPO / 'configs/_base_/datasets/lvis_v1_val.py'))
    ds = cfg.test_dataloader.dataset
    assert ds.data_root + ds.ann_file == 'data/lvis/lvis_v1_val.json'
    assert cfg.test_evaluator.ann_file == 'data/lvis/lvis_v1_val.json'


@pytest.mark.parametrize('variant', ['swin-t_c', 'swin-t', 'swin-l'])
def test_flickr30k_configs(variant):
    coco = _cfg(f'{variant}_zeroshot_coco').model.to_dict()
    flickr = _cfg(f'{variant}_flickr30k')
    assert flickr.model.to_dict() == coco
    ds = flickr.test_dataloader.dataset
    assert ds.type == 'Flickr30kDataset'
    assert ds.data_root + ds.ann_file == \
        'data/flickr30k_entities/final_flickr_separateGT_test.json'
    assert ds.data_prefix.img == 'flickr30k_images/'
    ev = flickr.test_evaluator
    assert ev.type == 'Flickr30kMetric' and not ev.merge_boxes
    assert ev.ann_file == ds.data_root + ds.ann_file
    val = Config.fromfile(
        str(REPO / 'configs/_base_/datasets/flickr30k_val.py'))
    assert val.test_evaluator.ann_file.endswith('separateGT_val.json')
