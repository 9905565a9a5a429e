"""Inference shortcuts give the detections of the plain path (issue 9):
the language model's cache of a fixed prompt, chunks batched through the
language model, the visual tower once per image without early fusion, no
padding beyond the longest caption, the head's predict without per-level
host syncs, inference mode; and gradient checkpointing (Swin + fusion
tower) gives the loss and gradients of a plain training step.

Models: glip-lite as configured, and GLIP-T (A) / (C) shrunk by
tiny_glip.build_tiny_glip (2-layer 64-wide BERT with random weights, 16-channel
Swin, 32-channel FPN / tower / head; the variant's fusion and DyHead).
"""
import mmcv
import pytest
import torch
from mmdet.models.utils import filter_scores_and_topk
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmglip.models.dense_heads import tokens_to_class_scores

from ..conftest import DEMO_DATA, REPO
from .tiny_glip import NAMES, VARIANTS, build_tiny_glip


def _build(variant, tiny_bert, seed=0, with_cp=False, **model_options):
    def edit(m):
        if with_cp:  # the documented config options
            m.backbone.with_cp = True
            m.fusion_neck.use_checkpoint = True
        m.update(model_options)
    return build_tiny_glip(VARIANTS[variant], tiny_bert, seed,
                           max_tokens=48, edit=edit)


def _batch(model, names=NAMES, training=False, size=224, num=1):
    img = mmcv.imresize(
        mmcv.imread(str(DEMO_DATA / 'raccoon_mini/valid/raccoon-106.jpg')),
        (size, size))
    samples = []
    for _ in range(num):
        sample = DetDataSample(metainfo=dict(
            text=names, custom_entities=True, img_shape=(size, size),
            ori_shape=(size, size), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[40., 30., 200., 210.], [10., 10., 90.,
                                                          120.]]),
            labels=torch.tensor([0, 3]))
        samples.append(sample)
    inputs = [torch.from_numpy(img).permute(2, 0, 1).contiguous()] * num
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples),
                                   training)


def _predict(model, data):
    with torch.no_grad():
        return [s.pred_instances for s in model.predict(
            data['inputs'], data['data_samples'])]


def _same(a, b, score=1e-5, box=1e-3):
    assert len(a) == len(b) and len(a) > 0
    assert torch.equal(a.labels, b.labels)
    assert torch.allclose(a.scores, b.scores, atol=score, rtol=0)
    assert torch.allclose(a.bboxes, b.bboxes, atol=box, rtol=0)
    assert a.get('label_names') == b.get('label_names')


# ----------------------------------------- chunks, visual tower, padding
@pytest.mark.parametrize('variant', list(VARIANTS))
def test_fast_inference_gives_the_plain_detections(variant, tiny_bert,
                                                   monkeypatch):
    model = _build(variant, tiny_bert, chunk_size=3)
    data = _batch(model, num=2)
    model.fast_inference = False
    model.language_model.cache_size = 0
    plain = _predict(model, data)
    calls = dict(lm=0, tower=0, backbone=0)

    def counting(name, fn):
        def wrapped(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(model.language_model, '_encode',
                        counting('lm', model.language_model._encode))
    monkeypatch.setattr(model.fusion_neck, 'forward',
                        counting('tower', model.fusion_neck.forward))
    monkeypatch.setattr(model.fusion_neck, 'forward_visual',
                        counting('tower', model.fusion_neck.forward_visual))
    monkeypatch.setattr(model.backbone, 'forward',
                        counting('backbone', model.backbone.forward))
    model.fast_inference = True
    fast = _predict(model, data)
    for a, b in zip(plain, fast):
        assert {int(lbl) // 3 for lbl in a.labels} == {0, 1, 2}  # 3 chunks
        _same(a, b)
        assert not b.scores.is_inference()  # ordinary tensors come back
    assert calls['lm'] == 1 and calls['backbone'] == 1
    # without early fusion the tower runs once, not once per chunk
    assert calls['tower'] == (3 if model.fusion_neck.early_fuse else 1)


@pytest.mark.parametrize('variant', ['glip-t_a', 'glip-t_c'])
def test_padding_to_max_tokens_changes_nothing(variant, tiny_bert):
    model = _build(variant, tiny_bert)
    data = _batch(model, names=NAMES[:4])
    model.language_model.pad_to_max = True
    padded = _predict(model, data)[0]
    model.language_model.pad_to_max = False
    model.language_model.clear_cache()
    assert model.language_model(['a. b']).masks.shape[1] == 5
    _same(padded, _predict(model, data)[0])


# ------------------------------------------------------------ the head
def _plain_predict_single(head, deltas, ctrs, logits, anchors, token_ids,
                          meta):
    """The per-level loop the head had before (mmdet's filter per level)."""
    cfg = head.test_cfg
    boxes, scores_all, labels_all = [], [], []
    for d, c, lg, a in zip(deltas, ctrs, logits, anchors):
        d = d.permute(1, 2, 0).reshape(-1, 4)
        c = c.permute(1, 2, 0).reshape(-1).sigmoid()
        scores = tokens_to_class_scores(lg.sigmoid(), token_ids)
        scores, labels, keep, kept = filter_scores_and_topk(
            scores, cfg['score_thr'], cfg['nms_pre'], dict(deltas=d,
                                                           anchors=a))
        scores_all.append(torch.sqrt(scores * c[keep]))
        labels_all.append(labels)
        boxes.append(head.bbox_coder.decode(kept['anchors'], kept['deltas'],
                                            max_shape=meta['img_shape']))
    res = InstanceData(bboxes=torch.cat(boxes), scores=torch.cat(scores_all),
                       labels=torch.cat(labels_all))
    res = head._bbox_post_process(res, cfg, rescale=True, with_nms=True,
                                  img_meta=meta)
    res.bboxes = head.bbox_coder.to_exclusive(res.bboxes)
    return res


@pytest.mark.parametrize('score_thr,nms_pre', [(0.0, 1000), (0.3, 50)])
def test_head_predict_matches_the_per_level_loop(tiny_bert, score_thr,
                                                 nms_pre):
    model = _build('glip-t_c', tiny_bert)
    head = model.bbox_head
    head.test_cfg.update(score_thr=score_thr, nms_pre=nms_pre)
    data = _batch(model, names=NAMES[:5])
    sample = data['data_samples'][0]
    with torch.no_grad():
        lang = model._encode(model.build_prompts(sample))
        fused, lang = model._fuse(model.extract_feat(data['inputs']), lang)
        logits, deltas, ctrs = head(fused, lang)
        fast = head.predict_by_feat(logits, deltas, ctrs, [sample.metainfo],
                                    token_ids=lang.token_ids)[0]
        anchors = head.prior_generator.grid_priors(
            [d.shape[-2:] for d in deltas], device='cpu')
        plain = _plain_predict_single(
            head, [d[0] for d in deltas], [c[0] for c in ctrs],
            [lg[0] for lg in logits], anchors, lang.token_ids[0],
            sample.metainfo)
    _same(plain, fast, score=1e-6, box=1e-4)


# ------------------------------------------------------- language cache
def test_language_cache(tiny_bert):
    model = _build('glip-t_c', tiny_bert)
    lm = model.language_model
    caps = ['cat. dog', 'a car']
    with torch.no_grad():
        first = lm(caps)
        assert lm(caps).hidden is first.hidden  # reused
        assert lm(caps[:1]).hidden is not first.hidden
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert lm(caps).hidden is not first.hidden
    with torch.inference_mode():
        assert lm(caps).hidden is not first.hidden
    # gradients wanted: no cache (the output carries a graph)
    assert lm(caps).hidden.requires_grad
    with torch.no_grad():
        # an in-place weight change misses the cache
        lm.bert.embeddings.word_embeddings.weight.mul_(1.5)
        changed = lm(caps)
        assert not torch.equal(changed.hidden, first.hidden)
        lm.load_state_dict(lm.state_dict())
        assert not lm._cache
        lm(caps)
        model.train()
        assert not lm._cache and lm.bert.training
        assert lm(caps).hidden is not lm(caps).hidden  # training
        model.eval()
        lm.cache_size = 2
        for i in range(4):
            lm([f'name {i}'])
        assert len(lm._cache) == 2
        lm.cache_size = 0
        assert lm(caps).hidden is not lm(caps).hidden  # off


def test_cache_of_a_frozen_language_model_survives_training(tiny_bert):
    model = _build('glip-t_c', tiny_bert, tuning_mode='prompt')
    lm = model.language_model
    with torch.no_grad():
        lm(['cat. dog'])
    model.train()
    assert len(lm._cache) == 1 and not lm.bert.training
    hit = lm(['cat. dog']).hidden
    assert hit is lm(['cat. dog']).hidden
    cached = lm(['cat. dog'])
    # the prompt offset is added after the cache, and trains
    lang = model._encode(model.build_prompts(DetDataSample(
        metainfo=dict(text=('cat', 'dog')))))
    assert lang.hidden.requires_grad
    # the detector's additions are new features: the cached ones unchanged
    assert lang.token_ids == [[[1], [3]]] and cached.token_ids is None
    assert lm(['cat. dog']) is cached and cached.hidden is hit


def test_api_results_are_ordinary_tensors(tiny_bert):
    from mmglip.apis import inference, init_model
    model = init_model(str(REPO / VARIANTS['glip-lite']))
    image = str(DEMO_DATA / 'raccoon_mini/valid/raccoon-106.jpg')
    res = inference(model, image, 'raccoon. dog').pred_instances
    assert not res.bboxes.is_inference()
    res.bboxes[:, 0].clamp_(min=0)  # in-place works


# ------------------------------------------------ gradient checkpointing
def test_checkpointing_gives_the_same_loss_and_gradients(tiny_bert):
    def step(with_cp):
        model = _build('glip-t_c', tiny_bert, with_cp=with_cp).train()
        assert model.backbone.stages[0].blocks[0].with_cp == with_cp
        data = _batch(model, names=NAMES[:4], training=True, size=160, num=2)
        torch.manual_seed(1)  # dropout / drop path / DropBlock draws
        losses = model.loss(data['inputs'], data['data_samples'])
        sum(losses.values()).backward()
        return losses, {n: p.grad for n, p in model.named_parameters()
                        if p.grad is not None}

    plain_loss, plain_grads = step(False)
    cp_loss, cp_grads = step(True)
    for k in plain_loss:
        assert torch.allclose(plain_loss[k], cp_loss[k], atol=1e-6), k
    assert plain_grads.keys() == cp_grads.keys()
    assert any(n.startswith('backbone.stages.0') for n in cp_grads)
    for n, g in plain_grads.items():
        assert torch.allclose(g, cp_grads[n], atol=1e-5, rtol=1e-4), n
