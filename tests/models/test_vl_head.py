"""The VL ATSS head on mmdet's dense-head contract with language features,
the fusion neck's choice of tokens, the box convention's one home and the
language width that follows the language model."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict
from mmengine.structures import InstanceData

from mmglip.models.language import LanguageFeatures
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
    lang = LanguageFeatures(tokens=torch.randn(2, 12, 16, generator=g),
                            masks=masks,
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


def _focal_loss_by_hand(head, x, lang, samples):
    """The token focal loss of the paper, written out here: ATSS positives
    by mmdet's assigner, each positive anchor's targets the tokens of its
    box's entity, -a (1-p)^g log p on targets and -(1-a) p^g log(1-p)
    elsewhere, over real tokens only, divided by the number of positives."""
    logits, bbox_preds, _ = head(x, lang)
    sizes = [p.shape[-2:] for p in bbox_preds]
    anchors = head.prior_generator.grid_priors(sizes, device='cpu')
    per_level = [len(a) for a in anchors]
    all_logits = torch.cat(logits, 1)
    total, num_pos = 0.0, 0
    for i, sample in enumerate(samples):
        gt = sample.gt_instances
        assigned = head.assigner.assign(
            InstanceData(priors=torch.cat(anchors)), per_level,
            InstanceData(bboxes=gt.bboxes,
                         labels=torch.arange(len(gt.bboxes))))
        target = torch.zeros_like(all_logits[i])
        for anchor in torch.nonzero(assigned.gt_inds > 0).flatten():
            entity = int(gt.labels[int(assigned.gt_inds[anchor]) - 1])
            target[anchor, lang.token_ids[i][entity]] = 1.0
            num_pos += 1
        z = all_logits[i].detach().double()
        p = z.sigmoid()
        real = lang.masks[i].bool()
        # log p and log(1 - p) as log-sigmoids: no log(0) for saturated p
        on = -0.25 * (1 - p)**2 * F.logsigmoid(z)
        off = -0.75 * p**2 * F.logsigmoid(-z)
        loss = torch.where(target.bool(), on, off)[:, real]
        total += float(loss.sum())
    return total / max(num_pos, 1), num_pos


def test_head_loss_and_predict_take_x_lang_samples():
    head = _head()
    x, lang, samples = _inputs()
    losses = head.loss(x, lang, samples)
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_centerness'}
    # the token loss is the paper's focal loss over ATSS positives
    expect, num_pos = _focal_loss_by_hand(head, x, lang, samples)
    assert num_pos > 0
    assert losses['loss_cls'].item() == pytest.approx(expect, rel=1e-4)
    # GIoU loss lies in [0, 2]; centerness is a binary cross-entropy
    assert 0 < losses['loss_bbox'].item() < 2
    assert losses['loss_centerness'].item() > 0
    # padding tokens take no part: other features there, the same losses
    padded = lang.replace(tokens=lang.tokens.clone())
    padded.tokens[1, 9:] = torch.randn(3, 16) * 10
    again = head.loss(x, padded, samples)
    for key in losses:
        assert again[key].item() == pytest.approx(losses[key].item(),
                                                  rel=1e-5), key
    # the *_by_feat halves agree with the whole
    outs = head(x, lang)
    by_feat = head.loss_by_feat(*outs, head.token_targets(lang, samples),
                                [s.metainfo for s in samples],
                                token_mask=lang.masks)
    assert all(torch.equal(by_feat[k], losses[k]) for k in losses)

    with torch.no_grad():
        results = head.predict(x, lang, samples, rescale=True)
        logits, _, centerness = head(x, lang)
    for i, res in enumerate(results):
        entities = lang.token_ids[i]
        assert 0 < len(res) <= head.test_cfg['max_per_img']
        assert set(res.labels.tolist()) <= set(range(len(entities)))
        scores = res.scores.tolist()
        assert scores == sorted(scores, reverse=True)
        # the best detection survives NMS: its score is the best over all
        # anchors and entities of sqrt(mean token probability x
        # centerness), computed here from the head's raw outputs (every
        # anchor is a candidate: fewer than nms_pre per level)
        probs = torch.cat(logits, 1)[i].sigmoid()
        ctr = torch.cat([c[i].permute(1, 2, 0).reshape(-1)
                         for c in centerness]).sigmoid()
        best = max(float(torch.sqrt(probs[:, ids].mean(1) * ctr).max())
                   for ids in entities)
        assert scores[0] == pytest.approx(best, rel=1e-5)
        # boxes in the original image (rescaled, x2-exclusive)
        h, w = samples[i].metainfo['ori_shape']
        assert res.bboxes.min() >= 0
        assert float(res.bboxes[:, 2].max()) <= w + 1
        assert float(res.bboxes[:, 3].max()) <= h + 1


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
    lang = LanguageFeatures(hidden=hidden, embedded=hidden * 0.5,
                            masks=torch.ones(2, 12, dtype=torch.long))
    with torch.no_grad():
        fused, tokens = neck(x, lang)
    assert [f.shape for f in fused] == [f.shape for f in x]
    if early_fuse:
        assert tokens.shape == hidden.shape
        assert not torch.equal(tokens, hidden)
    else:
        assert tokens is lang.embedded


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
