"""Mixed precision (CPU autocast): fp32 results unchanged, fp16 / bf16
inference of every variant close to fp32, AMP training steps of glip-lite.

The GLIP-T / GLIP-L variants are shrunk so the tests run in seconds: a
2-layer 64-wide BERT (config only, random weights, captions padded to 24
tokens so padding is masked), Swin at 16 channels with depths (1, 1, 2, 1),
FPN / fusion tower / head at 32 channels (X-MHA 64 wide). Everything else
stays as configured: the variant's Swin window, the number of fusion blocks,
deformable DyHead convs, early fusion on or off. glip-lite runs as
configured (its pretrained parts). Random heads give almost equal scores,
so the alignment scale, centerness and box convs are sharpened to give
detections a spread of scores (top-1 0.5 - 0.85, > 0.02 above the
10th) and of boxes.
"""
import mmcv
import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmglip.models.layers import BiMultiHeadAttention, GLIPDyHeadBlock
from mmglip.models.layers.bi_attention import (MAX_CLAMP_VALUE,
                                               mask_padding_tokens)
from mmglip.models.layers.text_encoder_layer import (_DenseNorm,
                                                     _Intermediate)
from mmglip.registry import MODELS

from ..conftest import DEMO_DATA, REPO
from ..tool_modules import load_tool
from .tiny_glip import build_tiny_glip

LITE = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')
VARIANTS = {
    'glip-t_a': 'configs/glip/glip_swin-t_a_zeroshot_coco.py',
    'glip-t_b': 'configs/glip/glip_swin-t_b_zeroshot_coco.py',
    'glip-t_c': 'configs/glip/glip_swin-t_c_zeroshot_coco.py',
    'glip-t': 'configs/glip/glip_swin-t_zeroshot_coco.py',
    'glip-l': 'configs/glip/glip_swin-l_zeroshot_coco.py',
    'glip-lite': 'configs/glip_lite/glip-lite_raccoon-mini.py',
}
NAMES = ('raccoon', 'person', 'dog', 'trash can')
LOW = [torch.float16, torch.bfloat16]
# measured on these models (all variants, seeds 0-2, 256 px, CPU autocast,
# torch 2.13): fp16 max score diff 2.3e-3, max box diff 0.06 px, >= 9 of the
# fp32 top-10 found (same label, IoU >= 0.9); bf16 1.6e-2, 0.28 px, >= 8.
# Misses are NMS near-ties (another box of the same object survives).
TOL = {torch.float16: dict(score=5e-3, box=0.5, matched=8),
       torch.bfloat16: dict(score=5e-2, box=2.0, matched=7)}


def _check_fp16_tool():
    return load_tool('tools/analysis/check_fp16.py')


# ------------------------------------------------ (a) fp32 stays bit-exact
def _official_masked_logits(logits, lang_mask):
    """The official (and mmdet's) vision -> text mask arithmetic."""
    bsz, heads, n, num_tok = logits.shape
    mask = lang_mask[:, None, None, :].expand(bsz, 1, n, num_tok).to(
        logits.dtype)
    mask = mask.masked_fill(mask == 0, -9e15)
    return logits + mask


def _lang_mask():
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[0, 7:] = 0
    mask[1, 10:] = 0
    return mask


def test_fp32_padding_mask_is_the_official_arithmetic():
    torch.manual_seed(0)
    logits = (torch.randn(2, 4, 30, 12) * 100).clamp(-MAX_CLAMP_VALUE,
                                                     MAX_CLAMP_VALUE)
    mask = _lang_mask()
    for dtype in (torch.float32, torch.float64):
        x = logits.to(dtype)
        assert torch.equal(mask_padding_tokens(x, mask),
                           _official_masked_logits(x, mask))


def _official_bi_attention(attn, vis, lang, lang_mask):
    """BiMultiHeadAttention's forward written as mmdet's port (eval)."""
    bsz, n, _ = vis.shape
    heads, hd = attn.num_heads, attn.head_dim

    def shape(x):
        return x.view(bsz, -1, heads, hd).transpose(1, 2).reshape(
            bsz * heads, -1, hd)

    q = shape(attn.v_proj(vis) * attn.scale)
    k, vv, vl = (shape(attn.l_proj(lang)), shape(attn.values_v_proj(vis)),
                 shape(attn.values_l_proj(lang)))
    w = torch.bmm(q, k.transpose(1, 2)).clamp(min=-MAX_CLAMP_VALUE).clamp(
        max=MAX_CLAMP_VALUE)
    wt = w.transpose(1, 2)
    wl = (wt - wt.max(-1, keepdim=True)[0]).clamp(
        min=-MAX_CLAMP_VALUE).clamp(max=MAX_CLAMP_VALUE).softmax(-1)
    wv = _official_masked_logits(w.view(bsz, heads, n, -1),
                                 lang_mask).view(bsz * heads, n,
                                                 -1).softmax(-1)

    def merge(x):
        return x.view(bsz, heads, -1, hd).transpose(1, 2).reshape(
            bsz, -1, heads * hd)

    return (attn.out_v_proj(merge(torch.bmm(wv, vl))),
            attn.out_l_proj(merge(torch.bmm(wl, vv))))


def test_fp32_bi_attention_bit_identical_to_official():
    torch.manual_seed(0)
    attn = BiMultiHeadAttention(32, 48, 64, 4, dropout=0.0).eval()
    vis, lang = torch.randn(2, 50, 32), torch.randn(2, 12, 48)
    out = attn(vis, lang, _lang_mask())
    ref = _official_bi_attention(attn, vis, lang, _lang_mask())
    assert torch.equal(out[0], ref[0]) and torch.equal(out[1], ref[1])


def test_fp32_text_layer_parts_unchanged():
    torch.manual_seed(0)
    inter, out = _Intermediate(16, 32).eval(), _DenseNorm(32, 16, 0.1,
                                                          1e-12).eval()
    x, h = torch.randn(3, 5, 16) * 1e5, torch.randn(3, 5, 32) * 1e5
    # the fp16-only clamps leave fp32 alone, even past +-50000
    assert torch.equal(inter(x), F.gelu(inter.dense(x)))
    assert torch.equal(out(h, x), out.LayerNorm(out.dense(h) + x))


def test_fp32_head_outputs_are_not_copied():
    from mmglip.models.dense_heads.vl_atss_head import _fp32
    a, b = [torch.randn(3)], [torch.randn(2)]
    out = _fp32(a, b)
    assert out[0][0] is a[0] and out[1][0] is b[0]


# ------------------------------------------------ low precision, per layer
@pytest.mark.parametrize('dtype', LOW)
def test_low_precision_mask_matches_fp32_softmax(dtype):
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 30, 12) * 5
    logits[0, 0, 0] = torch.tensor([-MAX_CLAMP_VALUE, MAX_CLAMP_VALUE] * 6)
    mask = _lang_mask()
    ref = _official_masked_logits(logits, mask).softmax(-1)
    low = mask_padding_tokens(logits.to(dtype), mask)
    assert low.dtype == dtype and torch.isfinite(low).all()
    probs = low.float().softmax(-1)
    assert (probs[0, ..., 7:] == 0).all() and (probs[1, ..., 10:] == 0).all()
    assert torch.allclose(probs, ref, atol=2e-2 if dtype == torch.bfloat16
                          else 2e-3)
    # a row of padding only stays uniform, as with the official mask
    none = mask_padding_tokens(logits[:1].to(dtype), torch.zeros(1, 12))
    assert torch.allclose(none.float().softmax(-1), torch.full_like(
        logits[:1], 1 / 12))


@pytest.mark.parametrize('dtype', LOW)
def test_bi_attention_autocast_finite_with_overflowing_logits(dtype):
    torch.manual_seed(0)
    attn = BiMultiHeadAttention(32, 48, 64, 4, dropout=0.0).eval()
    with torch.no_grad():
        # query-key products far past fp16's 65504
        attn.v_proj.weight.mul_(300)
        attn.l_proj.weight.mul_(300)
    vis, lang = torch.randn(2, 50, 32), torch.randn(2, 12, 48)
    with torch.autocast('cpu', dtype=dtype):
        out_v, out_l = attn(vis, lang, _lang_mask())
    assert torch.isfinite(out_v).all() and torch.isfinite(out_l).all()


def test_deformable_dyhead_under_autocast_runs_in_fp32():
    torch.manual_seed(0)
    block = GLIPDyHeadBlock(32, use_dcn=True).eval()
    torch.nn.init.normal_(block.offset.weight, std=0.01)
    feats = [torch.randn(1, 32, h, w) for h, w in ((8, 10), (4, 5), (2, 3))]
    conv = block.spatial_convs[1]
    offset_mask = block.offset(feats[0])
    args = dict(offset=offset_mask[:, :18], mask=offset_mask[:, 18:].sigmoid())
    ref = conv(feats[0], **args)
    for dtype in LOW:  # mmcv's CPU kernel has no bf16; autocast skips it
        with torch.autocast('cpu', dtype=dtype):
            assert torch.equal(conv(feats[0], **args), ref)
            out = block(feats)
        assert all(torch.isfinite(o).all() for o in out)


# --------------------------------------- (b) every variant, fp16 and bf16
def _build(variant, tiny_bert, seed=0):
    def edit(m):
        # padded to max_tokens: the padding masks are exercised under autocast
        m.language_model.pad_to_max = True
    return build_tiny_glip(VARIANTS[variant], tiny_bert, seed,
                           max_tokens=24, edit=edit)


def _batch(model, training=False, size=256):
    img = mmcv.imresize(
        mmcv.imread(str(DEMO_DATA / 'raccoon_mini/valid/raccoon-106.jpg')),
        (size, size))
    sample = DetDataSample(metainfo=dict(
        text=NAMES, custom_entities=True, img_shape=(size, size),
        ori_shape=(size, size), scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[40., 30., 250., 300.], [10., 10., 90., 120.]]),
        labels=torch.tensor([0, 3]))
    return model.data_preprocessor(
        dict(inputs=[torch.from_numpy(img).permute(2, 0, 1).contiguous()],
             data_samples=[sample]), training)


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_autocast_inference_agrees_with_fp32(variant, tiny_bert):
    model = _build(variant, tiny_bert)
    data = _batch(model)
    match = _check_fp16_tool().match_detections

    def predict(dtype):
        with torch.no_grad(), torch.autocast('cpu', dtype=dtype or
                                             torch.float32,
                                             enabled=dtype is not None):
            return model.predict(data['inputs'],
                                 data['data_samples'])[0].pred_instances

    ref = predict(None)
    assert ref.scores[0] - ref.scores[9] > 0.02  # not a tie of scores
    for dtype in LOW:
        out = predict(dtype)
        assert out.bboxes.dtype == torch.float32 and len(out) == len(ref)
        m = match(ref, out, top_k=10, iou_thr=0.9)
        assert m['finite'], dtype
        assert m['matched'] >= TOL[dtype]['matched'], (dtype, m)
        assert m['max_score_diff'] <= TOL[dtype]['score'], (dtype, m)
        assert m['max_box_diff'] <= TOL[dtype]['box'], (dtype, m)


@pytest.mark.parametrize('variant', ['glip-t_a', 'glip-t_c', 'glip-l'])
def test_autocast_loss_and_gradients_finite(variant, tiny_bert):
    model = _build(variant, tiny_bert).train()
    data = _batch(model, training=True, size=160)
    for dtype in LOW:
        model.zero_grad()
        with torch.autocast('cpu', dtype=dtype):
            losses = model.loss(data['inputs'], data['data_samples'])
        assert all(v.dtype == torch.float32 and torch.isfinite(v)
                   for v in losses.values()), (dtype, losses)
        sum(losses.values()).backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)


# ------------------------------------------- (c) AMP training of glip-lite
@pytest.fixture(scope='module')
def lite_batch():
    from mmengine.dataset import pseudo_collate

    from mmglip.registry import DATASETS
    cfg = Config.fromfile(LITE)
    # smaller images than the config's 384 x 256..288: CPU fp16 is slow
    resize = cfg.train_dataloader.dataset.pipeline[2]
    assert resize.type == 'mmdet.RandomChoiceResize'
    resize.scales = [(256, 192)]
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    return pseudo_collate([ds[i] for i in range(2)])


def _lite(tuning_mode='full'):
    from mmglip.apis.inference import _quiet_init_weights
    cfg = Config.fromfile(LITE)
    cfg.model.tuning_mode = tuning_mode
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    _quiet_init_weights(model)
    return cfg, model


def _snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()
            if p.requires_grad}


def _changed(model, before):
    return {n for n, p in model.named_parameters()
            if n in before and not torch.equal(before[n], p)}


# mmengine builds torch.cuda.amp.GradScaler, deprecated and off on CPU
@pytest.mark.filterwarnings('ignore:.*GradScaler')
def test_amp_optim_wrapper_step_bf16(lite_batch, monkeypatch):
    """What the runner does with ``--amp`` (mmengine's AmpOptimWrapper); on
    CPU mmengine autocasts to bf16 only, and its constructor insists on a
    GPU, which is patched away here (its GradScaler then stays off)."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    from mmengine.optim import build_optim_wrapper
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
    cfg, model = _lite()
    cfg.optim_wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic',
                             dtype='bfloat16')
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(wrapper, amp.AmpOptimWrapper)
    before = _snapshot(model)
    model.train()
    log_vars = model.train_step(lite_batch, wrapper)
    assert all(torch.isfinite(torch.as_tensor(v).detach()).all()
               for v in log_vars.values()), log_vars
    changed = _changed(model, before)
    assert any(n.startswith('fusion_neck.') for n in changed)
    assert 'bbox_head.bias0' in changed


def test_fp16_training_step_with_grad_scaler(lite_batch):
    """fp16 autocast with dynamic loss scaling (as AmpOptimWrapper does on a
    GPU): finite loss, no inf / nan gradient, the step is taken."""
    _, model = _lite()
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3)
    scaler = torch.amp.GradScaler('cpu', init_scale=2.0**16)
    before = _snapshot(model)
    model.train()
    data = model.data_preprocessor(lite_batch, True)
    with torch.autocast('cpu', dtype=torch.float16):
        losses = model.loss(data['inputs'], data['data_samples'])
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters()
               if p.grad is not None)
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 2.0**16  # no overflow: step not skipped
    changed = _changed(model, before)
    assert any(n.startswith('fusion_neck.') for n in changed)
    assert any(n.startswith('language_model.') for n in changed)


# ---------------------------------------------- (d) tools/train.py --amp
@pytest.mark.filterwarnings('ignore:.*GradScaler')
def test_train_tool_amp_builds_amp_optim_wrapper(tmp_path, monkeypatch):
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    from mmengine.optim import build_optim_wrapper
    tool = load_tool('tools/train.py')
    cfg = tool.build_cfg(tool.parse_args(
        [LITE, '--amp', '--work-dir', str(tmp_path)]))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    # the config's optimizer, clipping and lr multipliers are kept
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.clip_grad.max_norm == 1.0
    # mmengine builds it only where a GPU is (patched here)
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
    _, model = _lite()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(wrapper, amp.AmpOptimWrapper)
    assert wrapper.cast_dtype is None  # autocast's default: fp16 on CUDA
    assert wrapper.clip_grad_kwargs['max_norm'] == 1.0
