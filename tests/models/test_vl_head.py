"""The VL ATSS head on mmdet's dense-head contract with language features,
the fusion neck's choice of tokens, the box convention's one home and the
language width that follows the language model."""
import math

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict
from mmengine.structures import InstanceData

from mmglip.registry import MODELS
from mmglip.text import PromptError

from ..conftest import REPO

LITE = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')


def _head():
    model = Config.fromfile(
        str(REPO / 'configs/_base_/models/glip_swin-t.py')).model
    torch.manual_seed(0)
    head = MODELS.build(dict(
        model.bbox_head, in_channels=8, feat_channels=8, lang_dim=16,
        train_cfg=model.train_cfg,
        test_cfg=ConfigDict(model.test_cfg, score_thr=0.0)))
    head.init_weights()
    with torch.no_grad():  # a spread of scores, not near-ties
        head.log_scale.fill_(-math.log(20.0))
        head.bias0.fill_(-2.0)
        torch.nn.init.normal_(head.centerness.weight, 0, 0.3)
    return head


def _inputs():
    """5 levels of an 64 x 80 batch of 2, 12 tokens (the second sample's
    last 3 padding), entities' token ids and gt boxes per sample."""
    g = torch.Generator().manual_seed(0)
    sizes = [(8, 10), (4, 5), (2, 3), (1, 2), (1, 1)]
    x = tuple(torch.randn(2, 8, h, w, generator=g) for h, w in sizes)
    masks = torch.ones(2, 12, dtype=torch.long)
    masks[1, 9:] = 0
    lang = dict(tokens=torch.randn(2, 12, 16, generator=g), masks=masks,
                token_ids=[[[1], [3, 4], [6]], [[1, 2], [4]]])
    samples = []
    for boxes, labels in [([[4., 6., 40., 50.], [30., 10., 78., 60.]], [0, 2]),
                          ([[10., 12., 60., 58.]], [1])]:
        s = DetDataSample(metainfo=dict(
            img_shape=(64, 80), ori_shape=(96, 120),
            scale_factor=(80 / 120, 64 / 96)))
        s.gt_instances = InstanceData(bboxes=torch.tensor(boxes),
                                      labels=torch.tensor(labels))
        samples.append(s)
    return x, lang, samples


def test_head_loss_and_predict_take_x_lang_samples_same_numbers():
    # the numbers of the committed head (before the contract: loss(feats,
    # tokens, token_mask, gts with pos_tokens, metas), predict(feats,
    # tokens, token_ids, metas)) on these inputs
    head = _head()
    x, lang, samples = _inputs()
    losses = head.loss(x, lang, samples)
    expect = dict(loss_cls=189.8074188232422, loss_bbox=0.9959940314292908,
                  loss_centerness=0.684552788734436)
    assert set(losses) == set(expect)
    for key, value in expect.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-5), key
    with torch.no_grad():
        results = head.predict(x, lang, samples, rescale=True)
    expect = [(34, 21.75895118713379, 7379.6982421875, [1, 0, 1, 0, 2, 2]),
              (22, 12.805624961853027, 4729.30517578125, [1, 0, 1, 0, 1, 0])]
    for res, (num, scores, boxes, labels) in zip(results, expect):
        assert len(res) == num
        assert res.scores.sum().item() == pytest.approx(scores, rel=1e-5)
        assert res.bboxes.sum().item() == pytest.approx(boxes, rel=1e-5)
        assert res.labels[:6].tolist() == labels
    # the *_by_feat halves agree with the whole
    outs = head(x, lang)
    by_feat = head.loss_by_feat(*outs, head.token_targets(lang, samples),
                                [s.metainfo for s in samples],
                                token_mask=lang['masks'])
    assert all(torch.equal(by_feat[k], losses[k]) for k in losses)


def test_gt_label_beyond_the_prompt_is_a_prompt_error():
    head = _head()
    x, lang, samples = _inputs()
    samples[1].gt_instances.labels = torch.tensor([2])
    with pytest.raises(PromptError, match='only 2 entities'):
        head.loss(x, lang, samples)


def test_box_coder_is_the_one_home_of_the_plus_one():
    from mmglip.models.task_modules import GLIPBoxCoder
    coder = GLIPBoxCoder()
    assert GLIPBoxCoder.TO_REMOVE == 1
    anchors = torch.tensor([[0., 0., 64., 64.], [10., 20., 42., 36.]])
    gts = torch.tensor([[4., 6., 40., 50.], [12., 18., 50., 40.]])
    decoded = coder.decode(anchors, coder.encode(anchors, gts))
    # decode gives the official inclusive box, to_exclusive mmdet's
    assert torch.allclose(decoded[:, 2:], gts[:, 2:] - 1, atol=1e-4)
    assert torch.allclose(coder.to_exclusive(decoded), gts, atol=1e-4)
    clipped = coder.decode(anchors, torch.full((2, 4), 3.0),
                           max_shape=(30, 50))
    assert clipped[:, 2].max() == 49 and clipped[:, 3].max() == 29


@pytest.mark.parametrize('early_fuse', [True, False])
def test_the_neck_decides_which_tokens_reach_the_head(early_fuse):
    torch.manual_seed(0)
    neck = MODELS.build(dict(
        type='VLFusionNeck', num_blocks=1, channels=32, lang_dim=16,
        early_fuse=early_fuse, attn_cfg=dict(embed_dim=16, num_heads=2),
        text_layer_cfg=dict(num_heads=2, intermediate=32),
        dyhead_cfg=dict(use_dcn=False))).eval()
    x = [torch.randn(2, 32, h, w) for h, w in ((8, 8), (4, 4), (2, 2))]
    hidden = torch.randn(2, 12, 16)
    lang = dict(hidden=hidden, embedded=hidden * 0.5,
                masks=torch.ones(2, 12, dtype=torch.long))
    with torch.no_grad():
        fused, tokens = neck(x, lang)
    assert [f.shape for f in fused] == [f.shape for f in x]
    if early_fuse:
        assert tokens.shape == hidden.shape
        assert not torch.equal(tokens, hidden)
    else:
        assert tokens is lang['embedded']


def test_lang_dim_follows_the_language_model():
    cfg = Config.fromfile(LITE)
    for part in ('fusion_neck', 'bbox_head'):
        assert 'lang_dim' not in cfg.model[part]
    from mmglip.models.detectors.glip import _derived, _language_dim
    assert _language_dim(cfg.model.language_model) == 384
    assert _derived(dict(type='X'), 'bbox_head', lang_dim=384) == dict(
        type='X', lang_dim=384)
    assert _derived(dict(lang_dim=384), 'bbox_head', lang_dim=384) == dict(
        lang_dim=384)


@pytest.mark.parametrize('part', ['fusion_neck', 'bbox_head'])
def test_config_lang_dim_other_than_the_language_model_is_one_line(part):
    cfg = Config.fromfile(LITE)
    cfg.model[part].lang_dim = 768
    with pytest.raises(ValueError) as err:
        MODELS.build(cfg.model)
    msg = str(err.value)
    assert '\n' not in msg
    assert f'model.{part}.lang_dim=768' in msg and 'lang_dim=384' in msg


def test_a_dumped_config_with_the_retired_head_flag_still_builds():
    """Configs dumped into work dirs by earlier versions set
    bbox_head.early_fuse: it is ignored with a warning naming it."""
    cfg = Config.fromfile(LITE)
    cfg.model.bbox_head.early_fuse = True
    with pytest.warns(UserWarning, match=r'model\.bbox_head\.early_fuse is '
                      r'no longer used'):
        model = MODELS.build(cfg.model)
    assert not hasattr(model.bbox_head, 'early_fuse')
