"""Full / prompt / linear-probe tuning on glip-lite with real images: only
the intended tensors change in a training step."""
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmglip.registry import DATASETS, MODELS

from ..conftest import REPO

CONFIG = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')


@pytest.fixture(scope='module')
def batch():
    cfg = Config.fromfile(CONFIG)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    return pseudo_collate([ds[i] for i in range(2)])


def _build(mode):
    cfg = Config.fromfile(CONFIG)
    cfg.model.tuning_mode = mode
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _step(model, batch):
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                          lr=0.1)
    model.train()
    data = model.data_preprocessor(batch, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    sum(losses.values()).backward()
    opt.step()
    after = model.state_dict()
    return {k for k in before
            if before[k].dtype.is_floating_point and
            not torch.equal(before[k], after[k])}


def test_prompt_tuning_changes_only_the_offset(batch):
    model = _build('prompt')
    assert [n for n, p in model.named_parameters() if p.requires_grad] == \
        ['prompt_embeddings.weight']
    assert model.prompt_embeddings.weight.shape == (1000, 384)
    assert torch.count_nonzero(model.prompt_embeddings.weight) == 0
    changed = _step(model, batch)
    assert changed == {'prompt_embeddings.weight'}
    assert not model.fusion_neck.training and model.bbox_head.training


def test_linear_probe_changes_only_predictors(batch):
    model = _build('linear')
    changed = _step(model, batch)
    assert changed and all(k.startswith(model.LINEAR_PROBE_KEYS)
                           for k in changed)
    assert 'bbox_head.bias0' in changed


def test_full_tuning_respects_frozen_stem(batch):
    model = _build('full')
    changed = _step(model, batch)
    assert any(k.startswith('fusion_neck.') for k in changed)
    assert any(k.startswith('language_model.') for k in changed)
    # glip-lite freezes its whole ImageNet backbone
    assert not any(k.startswith('backbone.') for k in changed)


def test_zero_offset_gives_the_plain_model(batch):
    plain, prompt = _build('full').eval(), _build('prompt').eval()
    prompt.load_state_dict(plain.state_dict(), strict=False)
    data = plain.data_preprocessor(batch, False)
    with torch.no_grad():
        a = plain._forward(data['inputs'], data['data_samples'])
        b = prompt._forward(data['inputs'], data['data_samples'])
    assert torch.allclose(a[2][0], b[2][0], atol=1e-5)


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="tuning_mode='lora'"):
        _build('lora')
