"""Official GLIP checkpoint layout <-> mmglip, on full-size models."""
import subprocess
import sys

import pytest
import torch
from mmdet.models.backbones.swin import swin_converter

from mmglip.apis import init_model, load_weights
from mmglip.zoo.official import (CheckpointMismatchError, mmglip_to_official,
                                 official_fusion_layout, official_to_mmglip)
from mmglip.zoo.swin_inverse import mmdet_swin_to_official

REPO = __import__('pathlib').Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def models(bert_dir):
    torch.manual_seed(0)
    return {
        name: init_model(name, None, language_model=bert_dir,
                         cfg_options={'model.language_model.pretrained':
                                      False})
        for name in ('glip-t_a', 'glip-t_c')
    }


def _official_file(model, path, fused, ema=False):
    sd = mmglip_to_official(model.state_dict(), fused)
    ckpt = {'model': {'module.' + k: v for k, v in sd.items()},
            'optimizer': {'state': {0: torch.ones(3)}}, 'iteration': 7}
    if ema:
        ckpt['model_ema'] = {k: v + 1 for k, v in ckpt['model'].items()}
    torch.save(ckpt, path)
    return sd


def test_swin_inverse_roundtrip():
    torch.manual_seed(0)
    official = {
        'layers.0.downsample.reduction.weight': torch.randn(192, 384),
        'layers.0.downsample.norm.weight': torch.randn(384),
        'layers.0.blocks.0.attn.qkv.weight': torch.randn(288, 96),
        'layers.0.blocks.0.mlp.fc1.weight': torch.randn(384, 96),
        'patch_embed.proj.weight': torch.randn(96, 3, 4, 4),
    }
    mmdet_keys = {k[len('backbone.'):]: v
                  for k, v in swin_converter(official).items()}
    back = mmdet_swin_to_official(mmdet_keys)
    assert set(back) == set(official)
    for k in official:
        assert torch.equal(back[k], official[k]), k
    # the reorder is not the identity (else the test would prove nothing)
    assert not torch.equal(
        mmdet_keys['stages.0.downsample.reduction.weight'],
        official['layers.0.downsample.reduction.weight'])


@pytest.mark.parametrize('name,fused,blocks', [('glip-t_a', False, 6),
                                               ('glip-t_c', True, 6)])
def test_roundtrip_every_key(models, name, fused, blocks):
    sd = models[name].state_dict()
    official = mmglip_to_official(sd, fused)
    assert official_fusion_layout(official) == (fused, blocks)
    assert any(k.startswith('rpn.head.dyhead_tower.17.') for k in official) \
        == fused
    back, left = official_to_mmglip(official)
    assert left == [k for k in official if 'relative_position_index' in k
                    ] or not left
    for k, v in sd.items():
        if 'relative_position_index' in k:
            continue
        assert torch.equal(back[k], v), k


def test_load_official_file_drops_optimizer_and_reads_ema(
        models, tmp_path, bert_dir):
    path = tmp_path / 'official.pth'
    _official_file(models['glip-t_c'], path, True, ema=True)
    fresh = init_model('glip-t_c', None, language_model=bert_dir,
                       cfg_options={'model.language_model.pretrained': False})
    report = load_weights(fresh, str(path))
    assert report.ok and str(path) in str(report)
    ref = models['glip-t_c'].state_dict()
    got = fresh.state_dict()
    assert torch.equal(got['bbox_head.bias0'], ref['bbox_head.bias0'])
    load_weights(fresh, str(path), key='model_ema')
    assert torch.allclose(fresh.state_dict()['bbox_head.bias0'],
                          ref['bbox_head.bias0'] + 1)


def test_other_variant_is_refused_with_names(models, tmp_path):
    path = tmp_path / 'glip_a.pth'
    _official_file(models['glip-t_a'], path, False)
    with pytest.raises(CheckpointMismatchError,
                       match=r'6 DyHead blocks, no fusion .* but the model '
                       r'has 6 fusion blocks'):
        load_weights(models['glip-t_c'], str(path))


def test_mis_shaped_keys_are_named(models, tmp_path):
    sd = mmglip_to_official(models['glip-t_c'].state_dict(), True)
    sd['rpn.head.dot_product_projection_text.weight'] = torch.zeros(256, 1024)
    sd['rpn.head.something_new'] = torch.zeros(1)
    del sd['rpn.head.bias0']
    path = tmp_path / 'bad.pth'
    torch.save({'model': sd}, path)
    with pytest.raises(CheckpointMismatchError) as err:
        load_weights(models['glip-t_c'], str(path))
    msg = str(err.value)
    assert 'bbox_head.dot_product_projection_text.weight: (256, 1024) vs ' \
        '(256, 768)' in msg
    assert 'rpn.head.something_new' in msg
    assert 'missing in checkpoint (1):\n    bbox_head.bias0' in msg


def test_convert_tool(models, tmp_path):
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    _official_file(models['glip-t_a'], src, False)
    cmd = [sys.executable, str(REPO / 'tools/convert_official.py'), str(src),
           str(dst)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert 'no fusion' in out.stdout and 'optimizer' in out.stdout
    ckpt = torch.load(dst, weights_only=False)
    assert set(ckpt) == {'state_dict', 'meta'}
    sd = models['glip-t_a'].state_dict()
    for k, v in ckpt['state_dict'].items():
        assert torch.equal(v, sd[k]), k
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode != 0 and 'exists' in again.stderr


@pytest.mark.parametrize('nested', [True, False])
def test_mmengine_load_checkpoint_takes_official_files(tmp_path, nested):
    """`load_from=` / tools/test.py go through mmengine's load_checkpoint;
    the detector's pre-hook converts official files (nested under `model`
    or a flat state dict) on the way in."""
    from mmengine.config import Config
    from mmengine.runner.checkpoint import load_checkpoint

    from mmglip.registry import MODELS
    cfg = Config.fromfile(str(REPO / 'configs/glip_lite/'
                              'glip-lite_raccoon-mini.py'))
    cfg.model.language_model.pretrained = False
    torch.manual_seed(0)
    source = MODELS.build(cfg.model)
    official = {'module.' + k: v for k, v in mmglip_to_official(
        source.state_dict(), True).items()}
    path = tmp_path / 'official.pth'
    torch.save({'model': official, 'optimizer': {}} if nested else official,
               path)
    torch.manual_seed(1)
    target = MODELS.build(cfg.model)
    load_checkpoint(target, str(path), strict=True)
    want, got = source.state_dict(), target.state_dict()
    assert all(torch.equal(want[k], got[k]) for k in want)
