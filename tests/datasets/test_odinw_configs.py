"""The 13 ODinW dataset configs against the official layout (GLIP-REFERENCE
section 2), built on a tiny fake ODinW tree; prompt options end to end."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmglip.datasets import (ODINW13_TASKS, apply_fewshot, configure_odinw,
                             odinw_config_path)
from mmglip.registry import DATASETS
from .conftest import ANN, write_coco, write_image

STD = dict(train=(f'train/{ANN}', 'train/'), val=(f'valid/{ANN}', 'valid/'),
           test=(f'test/{ANN}', 'test/'))
MINI = dict(STD, val=(f'mini_val/{ANN}', 'mini_val/'))
VOC = dict(STD, test=(f'valid/{ANN}', 'valid/'))
PISTOLS = dict(train=(f'train_{ANN}', ''), val=(f'val_{ANN}', ''),
               test=(f'test_{ANN}', ''))
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
               'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
               'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
               'train', 'tvmonitor')
# task: (root, classes, split files, eval split)
EXPECTED = {
    'AerialMaritimeDrone': ('AerialMaritimeDrone/large/',
                            ('boat', 'car', 'dock', 'jetski', 'lift'), STD,
                            'valid'),
    'Aquarium': ('Aquarium/Aquarium Combined.v2-raw-1024.coco/',
                 ('fish', 'jellyfish', 'penguin', 'puffin', 'shark',
                  'starfish', 'stingray'), STD, 'valid'),
    'CottontailRabbits': ('CottontailRabbits/', ('Cottontail-Rabbit', ), STD,
                          'valid'),
    'EgoHands': ('EgoHands/generic/', ('hand', ), MINI, 'mini_val'),
    'NorthAmericaMushrooms':
    ('NorthAmericaMushrooms/North American Mushrooms.v1-416x416.coco/',
     ('CoW', 'chanterelle'), STD, 'valid'),
    'Packages': ('Packages/Raw/', ('package', ), STD, 'valid'),
    'PascalVOC': ('PascalVOC/', VOC_CLASSES, VOC, 'valid'),
    'pistols': ('pistols/export/', ('pistol', ), PISTOLS, 'val'),
    'pothole': ('pothole/', ('pothole', ), STD, 'valid'),
    'Raccoon': ('Raccoon/Raccoon.v2-raw.coco/', ('raccoon', ), STD, 'valid'),
    'ShellfishOpenImages': ('ShellfishOpenImages/raw/',
                            ('Crab', 'Lobster', 'Shrimp'), STD, 'valid'),
    'thermalDogsAndPeople': ('thermalDogsAndPeople/', ('dog', 'person'), STD,
                             'valid'),
    'VehiclesOpenImages': ('VehiclesOpenImages/416x416/',
                           ('Ambulance', 'Bus', 'Car', 'Motorcycle',
                            'Truck'), MINI, 'mini_val'),
}


@pytest.fixture(scope='module')
def fake_odinw(tmp_path_factory):
    """Every task's folders, one image per split holding every class."""
    root = tmp_path_factory.mktemp('odinw')
    for task, (task_root, classes, files, _) in EXPECTED.items():
        for split, (ann, img_dir) in files.items():
            name = f'{task}_{split}.png'
            write_image(root / task_root / img_dir / name, (16, 12))
            write_coco(root / task_root / ann, [(1, name, 16, 12)],
                       [(k + 1, 1, k + 1, [1, 1, 4, 4])
                        for k in range(len(classes))],
                       [(k + 1, c) for k, c in enumerate(classes)])
    return root


def build(ds_cfg):
    """Build a dataset without mmengine's serialisation (its gc.collect
    costs ~0.6 s per dataset here)."""
    return DATASETS.build(dict(ds_cfg, serialize_data=False))


def _cfg(task, root=None):
    cfg = Config.fromfile(odinw_config_path(task))
    return configure_odinw(cfg, odinw_root=root) if root else cfg


def test_thirteen_tasks():
    assert list(ODINW13_TASKS) == list(EXPECTED)
    for task in ODINW13_TASKS:
        assert osp.isfile(odinw_config_path(task))
    with pytest.raises(KeyError, match='unknown ODinW task'):
        odinw_config_path('COCO')


def test_default_root(monkeypatch):
    monkeypatch.delenv('ODINW_ROOT', raising=False)
    cfg = _cfg('Aquarium')
    assert cfg.odinw_root == 'data/odinw/'
    assert cfg.val_evaluator.ann_file == (
        'data/odinw/Aquarium/Aquarium Combined.v2-raw-1024.coco/valid/'
        f'{ANN}')
    assert cfg.val_evaluator.type == 'mmdet.CocoMetric'


@pytest.mark.parametrize('task', list(EXPECTED))
def test_task_config_builds(task, fake_odinw):
    task_root, classes, files, eval_split = EXPECTED[task]
    cfg = _cfg(task, str(fake_odinw))
    data_root = f'{fake_odinw}/{task_root}'
    assert cfg.odinw_task == task and cfg.eval_split == eval_split
    assert cfg.classes == classes
    for split in ('train', 'val', 'test'):
        ds_cfg = cfg[f'{split}_dataloader'].dataset
        assert ds_cfg.ann_file == files[split][0]
        ds = build(ds_cfg)
        assert type(ds).__name__ == 'ODinWDataset'
        assert ds.metainfo['classes'] == classes
        assert ds.ann_file == data_root + files[split][0]
        assert osp.normpath(ds.data_prefix['img']) == osp.normpath(
            data_root + files[split][1])
        assert ds.test_mode == (split != 'train')
        assert len(ds) == 1
        info = ds.get_data_info(0)
        assert [i['bbox_label'] for i in info['instances']] == list(
            range(len(classes)))
        assert info['text'] == classes and info['caption_prompt'] is None
    assert cfg.val_evaluator.ann_file == data_root + files['val'][0]
    assert cfg.test_evaluator.ann_file == data_root + files['test'][0]
    assert files['val'][0].startswith(eval_split)


def test_root_from_environment(monkeypatch, fake_odinw):
    monkeypatch.setenv('ODINW_ROOT', str(fake_odinw))
    cfg = _cfg('pistols')
    assert cfg.data_root == f'{fake_odinw}/pistols/export/'
    assert len(build(cfg.test_dataloader.dataset)) == 1


def _packed(cfg, split='val'):
    ds = build(cfg[f'{split}_dataloader'].dataset)
    return ds[0]['data_samples']


@pytest.mark.parametrize('task, caption, names', [
    ('Aquarium', 'fish. jellyfish. penguin, which is black and white. '
     'puffin with orange beaks. shark. starfish. stingray which is flat and '
     'round', ['fish', 'jellyfish', 'penguin', 'puffin', 'shark',
               'starfish', 'stingray']),
    ('EgoHands', 'hand of a person', ['hand']),
    ('Packages', 'there is a package on the porch', ['package']),
    ('pothole', 'there are some holes on the road', ['holes']),
])
def test_caption_prompt_reaches_the_model(task, caption, names, fake_odinw,
                                          tokenizer):
    from mmglip.text.positive_map import build_class_prompts
    cfg = _cfg(task, str(fake_odinw))
    assert _packed(cfg).metainfo['caption_prompt'] is None  # off by default
    configure_odinw(cfg, use_caption_prompt=True)
    sample = _packed(cfg)
    cp = sample.metainfo['caption_prompt']
    assert isinstance(cp, list) and len(cp) == len(cfg.classes)
    # what GLIP.build_prompts does with the sample
    prompts = build_class_prompts(tokenizer, list(sample.metainfo['text']),
                                  256, None, cp)
    assert len(prompts) == 1 and prompts[0].caption == caption
    spans = [prompts[0].caption[b:e] for (b, e), in prompts[0].spans]
    assert spans == names  # only the class name is a positive span


@pytest.mark.parametrize('task, renamed', [
    ('CottontailRabbits', ('rabbit', )),
    ('NorthAmericaMushrooms', ('flat mushroom', 'yellow mushroom')),
])
def test_class_overrides(task, renamed, fake_odinw):
    cfg = _cfg(task, str(fake_odinw))
    configure_odinw(cfg, use_class_overrides=True)
    for split in ('train', 'val'):
        ds = build(cfg[f'{split}_dataloader'].dataset)
        assert ds.metainfo['classes'] == EXPECTED[task][1]  # evaluation
        assert ds.get_data_info(0)['text'] == renamed  # prompt
    assert _packed(cfg).metainfo['text'] == renamed


def test_add_caption_prompt_transform_on_mmdet_coco(fake_odinw):
    task_root, classes, files, _ = EXPECTED['Aquarium']
    ds = build(
        dict(type='mmdet.CocoDataset', data_root=f'{fake_odinw}/{task_root}',
             ann_file=files['val'][0],
             data_prefix=dict(img=files['val'][1]),
             metainfo=dict(classes=classes), return_classes=True,
             test_mode=True,
             pipeline=[
                 dict(type='LoadImageChecked'),
                 dict(type='AddCaptionPrompt',
                      caption_prompt=dict(shark=dict(prefix='a ')),
                      class_overrides=dict(fish='small fish')),
                 dict(type='mmdet.PackDetInputs',
                      meta_keys=('img_id', 'text', 'caption_prompt'))
             ]))
    meta = ds[0]['data_samples'].metainfo
    assert meta['text'][0] == 'small fish' and meta['text'][1:] == classes[1:]
    assert meta['caption_prompt'][4] == {'prefix': 'a '}
    assert meta['caption_prompt'][0] == {}


def test_prompt_option_errors(fake_odinw):
    cfg = _cfg('Aquarium', str(fake_odinw))
    cfg.val_dataloader.dataset.use_caption_prompt = True
    cfg.val_dataloader.dataset.caption_prompt = dict(penguins=dict(
        suffix='!'))
    with pytest.raises(ValueError, match=r"entries for \['penguins'\]"):
        build(cfg.val_dataloader.dataset)
    cfg.val_dataloader.dataset.caption_prompt = dict(penguin=dict(
        sufix='!'))
    with pytest.raises(ValueError, match=r"key\(s\) \['sufix'\]"):
        build(cfg.val_dataloader.dataset)


def test_apply_fewshot(fake_odinw, tmp_path):
    cfg = _cfg('EgoHands', str(fake_odinw))
    test_ann = cfg.test_dataloader.dataset.ann_file
    apply_fewshot(cfg, 1, 3, out_dir=str(tmp_path))
    assert cfg.train_dataloader.dataset.ann_file == str(
        tmp_path / 'fewshot_train_shot1_seed3.json')
    assert cfg.val_dataloader.dataset.ann_file == str(
        tmp_path / 'fewshot_val_shot1_seed3.json')
    assert cfg.val_evaluator.ann_file == cfg.val_dataloader.dataset.ann_file
    assert cfg.test_dataloader.dataset.ann_file == test_ann  # never sampled
    assert len(build(cfg.train_dataloader.dataset)) == 1
    # default folder: next to each split's annotations, relative paths
    cfg = _cfg('EgoHands', str(fake_odinw))
    apply_fewshot(cfg, 1, 3)
    assert cfg.train_dataloader.dataset.ann_file == \
        'train/fewshot_train_shot1_seed3.json'
    assert cfg.val_dataloader.dataset.ann_file == \
        'mini_val/fewshot_val_shot1_seed3.json'
    assert len(build(cfg.val_dataloader.dataset)) == 1
