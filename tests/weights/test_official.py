"""Official GLIP checkpoint layout <-> mmglip, on full-size models: the
pure conversion functions of mmglip.weights.official (no files). Files, models
and every loader: tests/zoo/test_weights.py."""
import pytest
import torch
from mmdet.models.backbones.swin import swin_converter

from mmglip.apis import init_model
from mmglip.weights.official import (LAYOUT_KEY, CheckpointMismatchError,
                                     MissingWeightsError, check_layout,
                                     is_official, official_fusion_layout,
                                     official_to_mmglip,
                                     recorded_layout, to_mmglip)
from .official_inverse import mmdet_swin_to_official, mmglip_to_official


@pytest.fixture(scope='module')
def models(bert_dir):
    torch.manual_seed(0)
    return {
        name: init_model(name, None, language_model=bert_dir,
                         cfg_options={'model.language_model.pretrained':
                                      False})
        for name in ('glip-t_a', 'glip-t_c')
    }


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


@pytest.fixture(scope='module')
def official_c(models):
    """GLIP-T (C) weights in the official layout (no ``module.``)."""
    return mmglip_to_official(models['glip-t_c'].state_dict(), True)


def _prefixed(sd):
    return {'module.' + k: v for k, v in sd.items()}


def test_to_mmglip_takes_full_files_and_bare_state_dicts(models, official_c):
    ref = models['glip-t_c'].state_dict()
    full = {'model': _prefixed(official_c), 'optimizer': {'state': {}},
            'scheduler': {}, 'iteration': 7}
    results = [to_mmglip(c) for c in (full, _prefixed(official_c),
                                      official_c)]
    for state_dict, meta in results:
        assert set(state_dict) == set(ref)
        for k, v in state_dict.items():
            assert torch.equal(v, ref[k]), k
        assert (meta['fusion'], meta['fusion_blocks']) == (True, 6)
        assert meta['layout'] == 'official' and not meta['unconverted']
        assert recorded_layout(state_dict) == dict(fusion=True,
                                                   fusion_blocks=6)
        assert state_dict._metadata[''][LAYOUT_KEY]['fusion_blocks'] == 6
    assert results[0][1]['dropped'] == ['iteration', 'optimizer',
                                        'scheduler']
    assert results[1][1]['dropped'] == [] == results[2][1]['dropped']


def test_to_mmglip_picks_ema_and_sorts_out_unknown_keys(official_c):
    ema = {k: v + 1 for k, v in official_c.items()}
    full = {'model': official_c, 'model_ema': ema}
    sd, meta = to_mmglip(full, 'model_ema')
    assert meta['weights_key'] == 'model_ema' and meta['dropped'] == [
        'model']
    assert torch.equal(sd['bbox_head.bias0'],
                       official_c['rpn.head.bias0'] + 1)
    odd = dict(official_c, **{'rpn.head.cls_logits.weight': torch.ones(1),
                              'rpn.head.brand_new': torch.ones(1)})
    sd, meta = to_mmglip(odd)
    assert meta['ignored'] == ['rpn.head.cls_logits.weight']
    assert meta['unconverted'] == ['rpn.head.brand_new']
    assert 'rpn.head.brand_new' not in sd


def test_model_ema_of_a_file_without_ema_is_an_error(official_c):
    for bare in (official_c, _prefixed(official_c)):
        with pytest.raises(MissingWeightsError,
                           match=r'^x\.pth has no EMA weights .*bare state '
                           r'dict'):
            to_mmglip(bare, 'model_ema', 'x.pth')
    with pytest.raises(MissingWeightsError,
                       match='no EMA weights.*entries are iteration, model'):
        to_mmglip({'model': official_c, 'iteration': 1}, 'model_ema')
    with pytest.raises(KeyError, match='not an official GLIP checkpoint'):
        to_mmglip({'state_dict': {}, 'meta': {}})


def test_is_official(models, official_c):
    assert is_official(official_c) and is_official(_prefixed(official_c))
    assert is_official({'model': _prefixed(official_c), 'iteration': 1})
    assert not is_official(models['glip-t_c'].state_dict())
    assert not is_official({'state_dict': official_c})
    assert not is_official([1, 2])


def test_check_layout_names_both_variants(models):
    check_layout(models['glip-t_c'], dict(fusion=True, fusion_blocks=6), 'f')
    check_layout(models['glip-t_c'], None, 'f')  # nothing recorded
    with pytest.raises(CheckpointMismatchError,
                       match=r'^f holds a head with 6 DyHead blocks, no '
                       r'fusion .* but the model has 6 fusion blocks'):
        check_layout(models['glip-t_c'], dict(fusion=False, fusion_blocks=6),
                     'f')
