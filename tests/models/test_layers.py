import torch
from transformers import BertConfig
from transformers.models.bert.modeling_bert import BertLayer

from mmglip.models.language import LanguageFeatures
from mmglip.models.layers import (BiAttentionBlock, BiMultiHeadAttention,
                                  GLIPDyHeadBlock, TextEncoderLayer)


def test_padding_tokens_do_not_reach_vision():
    torch.manual_seed(0)
    attn = BiMultiHeadAttention(32, 48, 64, 4, dropout=0.0).eval()
    vis, lang = torch.randn(2, 50, 32), torch.randn(2, 10, 48)
    mask = torch.ones(2, 10, dtype=torch.long)
    mask[:, 6:] = 0
    out_v, out_l = attn(vis, lang, mask)
    lang2 = lang.clone()
    lang2[:, 6:] = torch.randn(2, 4, 48) * 100
    out_v2, out_l2 = attn(vis, lang2, mask)
    assert torch.allclose(out_v, out_v2, atol=1e-5)
    # real tokens' updates do not depend on padding either
    assert torch.allclose(out_l[:, :6], out_l2[:, :6], atol=1e-5)
    # ...but the vision side does depend on real tokens
    lang3 = lang.clone()
    lang3[:, 0] += 5
    assert not torch.allclose(attn(vis, lang3, mask)[0], out_v, atol=1e-3)


def test_bi_attention_block_levels_and_residual_on_normalised_input():
    torch.manual_seed(0)
    block = BiAttentionBlock(32, 48, 64, 4, dropout=0.0,
                             init_values=0.0).eval()
    feats = [torch.randn(2, 32, 8, 8), torch.randn(2, 32, 4, 4)]
    lang = torch.randn(2, 5, 48)
    out, new_lang = block(feats, lang, torch.ones(2, 5))
    assert [o.shape for o in out] == [f.shape for f in feats]
    # gamma 0: output is exactly the layer-normalised input
    ln = torch.nn.functional.layer_norm
    expected = ln(feats[1].flatten(2).transpose(1, 2), (32, ),
                  block.layer_norm_v.weight, block.layer_norm_v.bias)
    assert torch.allclose(out[1].flatten(2).transpose(1, 2), expected,
                          atol=1e-6)
    assert torch.allclose(new_lang, block.layer_norm_l(lang), atol=1e-6)


def test_text_layer_matches_transformers_bert_layer():
    torch.manual_seed(0)
    cfg = BertConfig(hidden_size=64, num_attention_heads=4,
                     intermediate_size=128, attn_implementation='eager')
    ref = BertLayer(cfg).eval()
    ours = TextEncoderLayer(64, 4, 128).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    hidden = torch.randn(2, 7, 64)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
    ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(
        torch.float32).min
    expected = ref(hidden, attention_mask=ext)
    expected = expected[0] if isinstance(expected, tuple) else expected
    assert torch.allclose(ours(hidden, mask), expected, atol=1e-5)


def test_dyhead_block_shapes_with_deformable_conv():
    torch.manual_seed(0)
    block = GLIPDyHeadBlock(32, use_dcn=True).eval()
    torch.nn.init.normal_(block.offset.weight, std=0.01)
    # FPN sizes: each level the ceil-half of the one below
    feats = [torch.randn(1, 32, h, w)
             for h, w in ((16, 20), (8, 10), (4, 5), (2, 3), (1, 2))]
    out = block(feats)
    assert [o.shape for o in out] == [f.shape for f in feats]
    plain = GLIPDyHeadBlock(32, use_dcn=False).eval()
    assert [o.shape for o in plain(feats)] == [f.shape for f in feats]


def test_fusion_neck_gradient_checkpointing_same_result():
    from mmglip.models.necks import VLFusionNeck
    torch.manual_seed(0)
    kw = dict(num_blocks=2, channels=32, lang_dim=48,
              attn_cfg=dict(embed_dim=64, num_heads=4, dropout=0.0),
              text_layer_cfg=dict(num_heads=4, intermediate=96, dropout=0.0),
              dyhead_cfg=dict(use_dcn=False))
    plain = VLFusionNeck(**kw).train()
    ckpt = VLFusionNeck(use_checkpoint=True, **kw).train()
    ckpt.load_state_dict(plain.state_dict())
    feats = [torch.randn(1, 32, h, w) for h, w in ((8, 8), (4, 4), (2, 2))]
    lang = LanguageFeatures(hidden=torch.randn(1, 6, 48),
                            masks=torch.ones(1, 6))
    outs = []
    for neck in (plain, ckpt):
        fused, tokens = neck(feats, lang)
        (sum(f.sum() for f in fused) + tokens.sum()).backward()
        outs.append((fused[0].detach(), tokens.detach(),
                     neck.blocks[0].cross_attn.gamma_v.grad.clone()))
    for a, b in zip(*outs):
        assert torch.allclose(a, b, atol=1e-5)


def test_per_head_checkpointed_attention_same_loss_and_gradients():
    """attn_cfg.checkpoint_heads: each (image, head)'s attention maps are
    recomputed in backward instead of kept; with padding in the prompt (two
    images, different lengths) and with the block checkpointing around it,
    the outputs and every gradient are those of the plain attention (to
    float32 summation order)."""
    from mmglip.models.necks import VLFusionNeck
    torch.manual_seed(0)
    kw = dict(num_blocks=2, channels=32, lang_dim=48,
              text_layer_cfg=dict(num_heads=4, intermediate=96, dropout=0.0),
              dyhead_cfg=dict(use_dcn=False))
    attn = dict(embed_dim=64, num_heads=4, dropout=0.0)
    plain = VLFusionNeck(attn_cfg=attn, **kw).train()
    feats = [torch.randn(2, 32, h, w) for h, w in ((8, 8), (4, 4), (2, 2))]
    masks = torch.ones(2, 6)
    masks[1, 4:] = 0  # the second prompt is shorter: padding
    lang = LanguageFeatures(hidden=torch.randn(2, 6, 48), masks=masks)
    results = []
    for use_checkpoint in (False, True):
        neck = VLFusionNeck(attn_cfg=dict(attn, checkpoint_heads=True),
                            use_checkpoint=use_checkpoint, **kw).train()
        neck.load_state_dict(plain.state_dict())
        assert neck.blocks[0].cross_attn.attn.checkpoint_heads
        results.append(neck)
    outs = []
    for neck in [plain] + results:
        fused, tokens = neck(feats, lang)
        (sum((f * f).sum() for f in fused) + (tokens * tokens).sum() *
         masks[..., None]).sum().backward()
        grads = torch.cat([p.grad.flatten() for p in neck.parameters()])
        outs.append((fused[0].detach(), tokens.detach(), grads))
    for other in outs[1:]:
        torch.testing.assert_close(other[0], outs[0][0], rtol=1e-5,
                                   atol=1e-6)
        torch.testing.assert_close(other[1], outs[0][1], rtol=1e-5,
                                   atol=1e-6)
        # all gradients as one vector (parameters whose true gradient is 0,
        # biases before GroupNorm, carry float noise either way)
        assert (other[2] - outs[0][2]).norm() <= 1e-5 * outs[0][2].norm()
    # in eval mode (and without gradients) the plain path runs
    plain.eval()
    with torch.no_grad():
        ref = plain(feats, lang)[1]
        results[0].eval()
        torch.testing.assert_close(results[0](feats, lang)[1], ref,
                                   rtol=0, atol=0)


def test_folded_attention_is_the_plain_function():
    """fast_inference_ops: in eval mode without gradients the X-MHA folds its
    visual projections into the attention; with padding in one of two
    prompts and non-zero biases everywhere, both updates equal the plain
    ones to float32 summation order, under bf16 autocast to bf16's; in
    training or with gradients on, the context changes nothing."""
    from mmglip.models.layers.fast_inference import \
        fast_inference_ops as folded_attention
    torch.manual_seed(0)
    attn = BiMultiHeadAttention(32, 48, 64, 4, dropout=0.0).eval()
    for p in attn.parameters():
        torch.nn.init.normal_(p, std=0.2)  # biases too (they start at 0)
    vis, lang = torch.randn(2, 300, 32), torch.randn(2, 7, 48)
    mask = torch.ones(2, 7)
    mask[1, 5:] = 0
    with torch.no_grad():
        plain = attn(vis, lang, mask)
        with folded_attention():
            folded = attn(vis, lang, mask)
        assert all(not torch.equal(a, b) for a, b in zip(plain, folded))
        for a, b in zip(plain, folded):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            plain16 = attn(vis, lang, mask)
            with folded_attention():
                folded16 = attn(vis, lang, mask)
        for a, b, ref in zip(plain16, folded16, plain):
            scale = ref.abs().max()
            assert (a.float() - ref).abs().max() < 0.05 * scale
            assert (b.float() - ref).abs().max() < 0.05 * scale
    with folded_attention():
        assert torch.equal(attn(vis, lang, mask)[0], attn.train()(
            vis, lang, mask)[0])  # grad on: plain (dropout 0)
        with torch.no_grad():  # training: plain
            assert torch.equal(attn(vis, lang, mask)[0], plain[0])


def test_sampled_deformable_conv_is_mmcv_modulated_deform_conv():
    """The gathered DCNv2 (DyHead's CPU shortcut under
    fast_inference_ops) against mmcv's kernel: strides 1 and 2, a batch of
    two over more output positions than one block (_ROWS), offsets
    reaching over the border, levels of one row / column, offsets of the
    finer level (mmcv reads their first values), with and without bias;
    equal to float rounding. In a DyHead conv the
    shortcut runs only inside the context, in eval mode, without
    gradients."""
    from mmcv.ops import ModulatedDeformConv2d

    from mmglip.models.layers import deform_conv
    from mmglip.models.layers.deform_conv import \
        modulated_deform_conv2d_sampled
    from mmglip.models.layers.dyhead_block import _ConvNorm
    from mmglip.models.layers.fast_inference import fast_inference_ops
    torch.manual_seed(0)
    assert 2 * 24 * 37 > deform_conv._ROWS  # the first case spans blocks
    # (input size, stride, batch, offsets' size if not the output's: a
    # level's offsets given to the conv of the coarser level, as DyHead)
    for (h, w), stride, bsz, off_size, bias in (
            ((24, 37), 1, 2, None, True), ((24, 37), 2, 1, None, False),
            ((1, 2), 1, 1, None, True), ((3, 1), 2, 1, None, True),
            ((12, 19), 1, 2, (24, 37), True)):
        conv = ModulatedDeformConv2d(16, 8, 3, stride=stride, padding=1,
                                     bias=bias)
        if bias:
            torch.nn.init.normal_(conv.bias)
        x = torch.randn(bsz, 16, h, w)
        out_h, out_w = off_size or ((h - 1) // stride + 1,
                                    (w - 1) // stride + 1)
        offset = torch.randn(bsz, 18, out_h, out_w) * 3
        mask = torch.rand(bsz, 9, out_h, out_w)
        with torch.no_grad():
            ref = conv(x, offset, mask)
            out = modulated_deform_conv2d_sampled(
                x, offset, mask, conv.weight, conv.bias, conv.stride,
                conv.padding, conv.dilation)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    block = _ConvNorm(16, 1, use_dcn=True).eval()
    x = torch.randn(1, 16, 12, 9)
    args = dict(offset=torch.randn(1, 18, 12, 9),
                mask=torch.rand(1, 9, 12, 9))
    calls = []
    import mmglip.models.layers.dyhead_block as dyhead_block
    original = dyhead_block.modulated_deform_conv2d_sampled

    def counted(*a, **k):
        calls.append(1)
        return original(*a, **k)
    dyhead_block.modulated_deform_conv2d_sampled = counted
    try:
        with torch.no_grad():
            plain = block(x, **args)
            with fast_inference_ops():
                fast = block(x, **args)
        assert len(calls) == 1
        torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
        with fast_inference_ops():
            block(x, **args)  # gradients on: mmcv
            with torch.no_grad():
                block.train()(x, **args)  # training: mmcv
        assert len(calls) == 1
    finally:
        dyhead_block.modulated_deform_conv2d_sampled = original
