"""The 13 ODinW dataset configs against the official layout (GLIP-REFERENCE
section 2), built on a tiny fake ODinW tree; prompt options end to end."""
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mmglip.datasets import (ODinWConfigError, odinw_config_path,
                             odinw_split_files)
from mmglip.registry import DATASETS, METRICS
from mmglip.odinw_tasks import ODINW_TASKS
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


def build(ds_cfg, **kwargs):
    """Build a dataset without mmengine's serialisation (its gc.collect
    costs ~0.6 s per dataset here)."""
    return DATASETS.build(dict(ds_cfg, serialize_data=False, **kwargs))


def _cfg(task, root=None, odinw35=False):
    """A task config (ODinW-13, or ODinW-35 with ``odinw35``); ``root``: its
    datasets read from there (the plain ``data_root`` key, as the
    benchmark's --data-root sets it)."""
    if odinw35:
        from mmglip.benchmark.plan import task_configs
        cfg = Config.fromfile(task_configs(['odinw35'])[task])
    else:
        cfg = Config.fromfile(odinw_config_path(task))
    if root:
        for split in ('train', 'val', 'test'):
            cfg[f'{split}_dataloader'].dataset.data_root = root
    return cfg


def test_thirteen_tasks():
    assert list(ODINW_TASKS) == list(EXPECTED)
    for task in ODINW_TASKS:
        assert osp.isfile(odinw_config_path(task))
    with pytest.raises(ODinWConfigError,
                       match="unknown ODinW task 'Aquarum' \\(did you mean "
                       "'Aquarium'"):
        odinw_config_path('Aquarum')


def test_task_config_is_its_facts():
    """A task config states its task and hands it to the three datasets;
    all else (pipelines, loaders, metric) is the base's."""
    text = open(odinw_config_path('EgoHands')).read()
    code = [ln for ln in text.splitlines() if ln and not ln.startswith('#')]
    assert len(code) <= 12
    cfg = _cfg('EgoHands')
    # the official odinw_13 config has no caption prompt (ODinW-35's is in
    # odinw35/ego_hands_generic.py)
    assert cfg.task == dict(name='EgoHands', root='EgoHands/generic/',
                            classes=('hand', ), val_split='mini_val')
    for split in ('train', 'val', 'test'):
        ds = cfg[f'{split}_dataloader'].dataset
        assert ds.task == cfg.task and ds.split == split
        assert 'ann_file' not in ds and 'data_prefix' not in ds
    assert cfg.val_evaluator == dict(type='mmglip.DatasetCocoMetric',
                                     metric='bbox', backend_args=None)


def test_default_root(monkeypatch):
    monkeypatch.delenv('ODINW_ROOT', raising=False)
    cfg = _cfg('Aquarium')
    assert cfg.odinw_root == 'data/odinw/'
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.data_root == 'data/odinw/'
    # the files the val dataset derives (without building it)
    assert odinw_split_files(cfg.task, 'val') == (
        f'Aquarium/Aquarium Combined.v2-raw-1024.coco/valid/{ANN}',
        'Aquarium/Aquarium Combined.v2-raw-1024.coco/valid/')


@pytest.mark.parametrize('task', list(EXPECTED))
def test_task_config_builds(task, fake_odinw):
    task_root, classes, files, eval_split = EXPECTED[task]
    cfg = _cfg(task, str(fake_odinw))
    data_root = f'{fake_odinw}/{task_root}'
    assert cfg.task.name == task and cfg.task.root == task_root
    assert cfg.task.classes == classes
    metric = METRICS.build(cfg.val_evaluator)
    for split in ('train', 'val', 'test'):
        ds = build(cfg[f'{split}_dataloader'].dataset)
        assert type(ds).__name__ == 'ODinWDataset'
        assert ds.metainfo['classes'] == classes
        assert ds.ann_file == data_root + files[split][0]
        # the metric's ground truth: the file the dataset read
        assert ds.metainfo['ann_file'] == ds.ann_file
        metric.dataset_meta = ds.metainfo
        assert metric.gt_file == ds.ann_file
        assert len(metric._coco_api.imgs) == 1
        assert osp.normpath(ds.data_prefix['img']) == osp.normpath(
            data_root + files[split][1])
        assert ds.test_mode == (split != 'train')
        assert len(ds) == 1
        info = ds.get_data_info(0)
        assert [i['bbox_label'] for i in info['instances']] == list(
            range(len(classes)))
        assert info['text'] == classes and info['caption_prompt'] is None
    assert files['val'][0].startswith(eval_split)


def test_root_from_environment(monkeypatch, fake_odinw):
    monkeypatch.setenv('ODINW_ROOT', str(fake_odinw))
    cfg = _cfg('pistols')
    assert cfg.test_dataloader.dataset.data_root == f'{fake_odinw}/'
    ds = build(cfg.test_dataloader.dataset)
    assert len(ds) == 1
    assert ds.ann_file == f'{fake_odinw}/pistols/export/test_{ANN}'


def _packed(cfg, split='val', **kwargs):
    ds = build(cfg[f'{split}_dataloader'].dataset, **kwargs)
    return ds[0]['data_samples']


@pytest.mark.parametrize('task, caption, names', [
    ('Aquarium', 'fish. jellyfish. penguin, which is black and white. '
     'puffin with orange beaks. shark. starfish. stingray which is flat and '
     'round', ['fish', 'jellyfish', 'penguin', 'puffin', 'shark',
               'starfish', 'stingray']),
    ('EgoHands_generic', 'hand of a person', ['hand']),
    ('Packages', 'there is a package on the porch', ['package']),
    ('pothole', 'there are some holes on the road', ['holes']),
])
def test_caption_prompt_reaches_the_model(task, caption, names, fake_odinw,
                                          tokenizer):
    from mmglip.text import build_class_prompts
    cfg = _cfg(task, str(fake_odinw), odinw35=True)
    assert _packed(cfg).metainfo['caption_prompt'] is None  # off by default
    sample = _packed(cfg, use_caption_prompt=True)
    cp = sample.metainfo['caption_prompt']
    assert isinstance(cp, list) and len(cp) == len(cfg.task.classes)
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
    cfg = _cfg(task, str(fake_odinw), odinw35=True)
    cfg.merge_from_dict({f'{s}_dataloader.dataset.use_class_overrides': True
                         for s in ('train', 'val')})
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


def test_fewshot_split_by_dataset_keys(fake_odinw, tmp_path):
    """fewshot=dict(shots, seed[, out_dir]) on the train / val datasets:
    each writes its k-shot file on first use and reads it; the metric
    scores against the k-shot val file; the test split is never sampled."""
    cfg = _cfg('EgoHands', str(fake_odinw))
    fewshot = dict(shots=1, seed=3, out_dir=str(tmp_path))
    train = build(cfg.train_dataloader.dataset, fewshot=fewshot)
    val = build(cfg.val_dataloader.dataset, fewshot=fewshot)
    assert train.ann_file == str(tmp_path / 'fewshot_train_shot1_seed3.json')
    assert val.ann_file == str(tmp_path / 'fewshot_val_shot1_seed3.json')
    assert len(train) == len(val) == 1
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = val.metainfo
    assert metric.gt_file == val.ann_file
    # reused, not rewritten
    mtime = os.stat(train.ann_file).st_mtime_ns
    build(cfg.train_dataloader.dataset, fewshot=fewshot)
    assert os.stat(train.ann_file).st_mtime_ns == mtime
    # default folder: next to each split's annotations
    val = build(cfg.val_dataloader.dataset, fewshot=dict(shots=1, seed=3))
    assert val.ann_file == str(fake_odinw / 'EgoHands/generic/mini_val/'
                               'fewshot_val_shot1_seed3.json')
    # shots=None: the full split
    full = build(cfg.train_dataloader.dataset, fewshot=dict(shots=None))
    assert full.ann_file.endswith(f'train/{ANN}')


@pytest.mark.parametrize('change, message', [
    (dict(fewshot=dict(shots=1, seed=3), split='test'),
     "split='test'; only the train and val splits are sampled"),
    (dict(fewshot=dict(shots=1)), 'no seed'),
    (dict(fewshot=dict(shots=1, sed=3)), "key 'sed' is unknown"),
    (dict(fewshot=dict(shots=0, seed=3)), 'shots must be a positive'),
    (dict(split='valid'), "split='valid' \\(task 'EgoHands'\\): use"),
    (dict(task=dict(root='EgoHands/generic/', val_splt='mini_val')),
     "task key 'val_splt' is unknown \\(did you mean 'val_split'"),
    (dict(ann_file='x.json'), "ann_file='x.json' given with task"),
])
def test_bad_task_settings_are_one_line_errors(change, message, fake_odinw):
    from mmglip.utils.cli import UserError
    cfg = _cfg('EgoHands', str(fake_odinw))
    with pytest.raises(ODinWConfigError, match=message) as err:
        build(cfg.train_dataloader.dataset, **change)
    assert isinstance(err.value, UserError) and '\n' not in str(err.value)


def test_missing_split_file_names_it(fake_odinw, tmp_path):
    cfg = _cfg('Aquarium', str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        build(cfg.val_dataloader.dataset)
    assert f'{tmp_path}/Aquarium/Aquarium Combined.v2-raw-1024.coco/valid/' \
        f'{ANN}' in str(err.value)
