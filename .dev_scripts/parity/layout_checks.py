"""Independent checks of an official-layout GLIP state dict, used by
make_official_checkpoint.py before it saves: every key matches the layout
documented in shared/docs/GLIP-REFERENCE.md section 4 (regexes and shapes
written here, apart from glip_keymap, so that they check it), and Swin's
patch merging agrees with mmdet's converter and with the official formula.
"""
from __future__ import annotations

import re
from collections import OrderedDict

import torch

import glip_keymap as km

# --------------------------------------------------------------------------
# documented official layout (GLIP-REFERENCE.md section 4), written
# independently of glip_keymap so that it checks it
# --------------------------------------------------------------------------
_P = r'^module\.'
_WB = r'\.(weight|bias)$'
DOC_GROUPS_COMMON = OrderedDict([
    ('swin.patch_embed', _P + r'backbone\.body\.patch_embed\.(proj|norm)' + _WB),
    ('swin.block.norm', _P + r'backbone\.body\.layers\.[0-3]\.blocks\.\d+\.norm[12]' + _WB),
    ('swin.block.attn', _P + r'backbone\.body\.layers\.[0-3]\.blocks\.\d+\.attn\.(qkv|proj)' + _WB),
    ('swin.block.relpos', _P + r'backbone\.body\.layers\.[0-3]\.blocks\.\d+\.attn\.'
     r'relative_position_(bias_table|index)$'),
    ('swin.block.mlp', _P + r'backbone\.body\.layers\.[0-3]\.blocks\.\d+\.mlp\.fc[12]' + _WB),
    ('swin.downsample', _P + r'backbone\.body\.layers\.[0-2]\.downsample\.'
     r'(reduction\.weight|norm\.weight|norm\.bias)$'),
    ('swin.out_norm', _P + r'backbone\.body\.norm[123]' + _WB),
    ('fpn', _P + r'backbone\.fpn\.(fpn_inner[234]|fpn_layer[234]|top_blocks\.p[67])' + _WB),
    ('bert', _P + r'language_backbone\.body\.model\.(embeddings|encoder\.layer\.(\d|1[01]))\.'),
    ('head.dyconv', _P + r'rpn\.head\.dyhead_tower\.\d+\.(DyConv\.[012]\.(conv|bn)'
     r'|AttnConv\.1|relu\.fc\.[02]|offset)' + _WB),
    ('head.predictors', _P + r'rpn\.head\.(bbox_pred|centerness|dot_product_projection_text'
     r'|cls_logits)' + _WB),
    ('head.scalars', _P + r'rpn\.head\.(scales\.[0-4]\.scale|log_scale|bias_lang|bias0)$'),
    ('anchors', _P + r'rpn\.anchor_generator\.cell_anchors\.[0-4]$'),
])
DOC_GROUPS_FUSION = OrderedDict([
    ('head.xmha', _P + r'rpn\.head\.dyhead_tower\.\d+\.b_attn\.(layer_norm_[vl]\.(weight|bias)'
     r'|gamma_[vl]|attn\.(v_proj|l_proj|values_v_proj|values_l_proj|out_v_proj'
     r'|out_l_proj)\.(weight|bias))$'),
    ('head.bert_layer', _P + r'rpn\.head\.dyhead_tower\.\d+\.(attention\.self\.(query|key|value)'
     r'|attention\.output\.(dense|LayerNorm)|intermediate\.dense|output\.(dense|LayerNorm))'
     + _WB),
])

# shapes of GLIP-T tensors (official layout), from the architecture facts
DOC_SHAPES = [
    (r'patch_embed\.proj\.weight$', (96, 3, 4, 4)),
    (r'layers\.0\.blocks\.\d+\.attn\.qkv\.weight$', (288, 96)),
    (r'layers\.3\.blocks\.\d+\.attn\.relative_position_bias_table$', (169, 24)),
    (r'layers\.2\.blocks\.\d+\.attn\.relative_position_index$', (49, 49)),
    (r'layers\.1\.blocks\.\d+\.mlp\.fc1\.weight$', (768, 192)),
    (r'layers\.0\.downsample\.reduction\.weight$', (192, 384)),
    (r'layers\.2\.downsample\.norm\.weight$', (1536, )),
    (r'body\.norm3\.weight$', (768, )),
    (r'fpn\.fpn_inner2\.weight$', (256, 192, 1, 1)),
    (r'fpn\.fpn_inner4\.weight$', (256, 768, 1, 1)),
    (r'fpn\.fpn_layer3\.weight$', (256, 256, 3, 3)),
    (r'fpn\.top_blocks\.p6\.weight$', (256, 256, 3, 3)),
    (r'word_embeddings\.weight$', (30522, 768)),
    (r'b_attn\.attn\.v_proj\.weight$', (2048, 256)),
    (r'b_attn\.attn\.l_proj\.weight$', (2048, 768)),
    (r'b_attn\.attn\.out_v_proj\.weight$', (256, 2048)),
    (r'b_attn\.attn\.out_l_proj\.weight$', (768, 2048)),
    (r'b_attn\.gamma_v$', (256, )),
    (r'b_attn\.gamma_l$', (768, )),
    (r'dyhead_tower\.\d+\.intermediate\.dense\.weight$', (3072, 768)),
    (r'DyConv\.[012]\.conv\.weight$', (256, 256, 3, 3)),
    (r'DyConv\.[012]\.bn\.weight$', (256, )),
    (r'AttnConv\.1\.weight$', (1, 256, 1, 1)),
    (r'relu\.fc\.0\.weight$', (64, 256)),
    (r'relu\.fc\.2\.weight$', (1024, 64)),
    (r'offset\.weight$', (27, 256, 3, 3)),
    (r'rpn\.head\.bbox_pred\.weight$', (4, 256, 1, 1)),
    (r'rpn\.head\.centerness\.weight$', (1, 256, 1, 1)),
    (r'rpn\.head\.dot_product_projection_text\.weight$', (256, 768)),
    (r'rpn\.head\.scales\.\d\.scale$', (1, )),
    (r'rpn\.head\.log_scale$', (1, )),
    (r'rpn\.head\.bias0$', (1, )),
    (r'rpn\.head\.bias_lang$', (768, )),
    (r'cell_anchors\.\d$', (1, 4)),
]


def check_documented_layout(official: dict, fused: bool) -> None:
    groups = OrderedDict(DOC_GROUPS_COMMON)
    if fused:
        groups.update(DOC_GROUPS_FUSION)
    hits = {g: 0 for g in groups}
    for key in official:
        matched = [g for g, rx in groups.items() if re.search(rx, key)]
        if len(matched) != 1:
            raise AssertionError(f'official key {key} matches {matched}')
        hits[matched[0]] += 1
    missing = [g for g, n in hits.items() if n == 0]
    if missing:
        raise AssertionError(f'documented groups absent: {missing}')

    # Swin-T: depths 2-2-6-2; BERT: 12 layers
    for i, depth in enumerate((2, 2, 6, 2)):
        blocks = {int(m.group(1)) for k in official
                  for m in [re.search(rf'body\.layers\.{i}\.blocks\.(\d+)\.', k)] if m}
        assert blocks == set(range(depth)), (i, blocks)
    layers = {int(m.group(1)) for k in official
              for m in [re.search(r'body\.model\.encoder\.layer\.(\d+)\.', k)] if m}
    assert layers == set(range(12)), layers

    # the tower: per block [X-MHA, BERT layer, DyHead] (fusion) or [DyHead]
    kinds = {}
    for key in official:
        m = re.search(r'rpn\.head\.dyhead_tower\.(\d+)\.([A-Za-z_]+)', key)
        if not m:
            continue
        first = m.group(2)
        kind = ('xmha' if first == 'b_attn' else
                'bert' if first in ('attention', 'intermediate', 'output') else
                'dyconv' if first in ('DyConv', 'AttnConv', 'relu', 'offset') else
                first)
        kinds.setdefault(int(m.group(1)), set()).add(kind)
    per_block = ['xmha', 'bert', 'dyconv'] if fused else ['dyconv']
    expect = {i: {per_block[i % len(per_block)]} for i in range(6 * len(per_block))}
    assert kinds == expect, f'tower layout {kinds} != {expect}'

    for rx, shape in DOC_SHAPES:
        found = [k for k in official if re.search(rx, k)]
        if not found and not (('b_attn' in rx or 'intermediate' in rx)
                              and not fused):
            raise AssertionError(f'no key for shape rule {rx}')
        for k in found:
            if tuple(official[k].shape) != shape:
                raise AssertionError(f'{k}: shape {tuple(official[k].shape)} '
                                     f'!= documented {shape}')


# --------------------------------------------------------------------------
# patch-merging cross-checks
# --------------------------------------------------------------------------
def check_swin_against_mmdet_converter(sd: dict, official: dict) -> None:
    """mmdet's own official->mmdet Swin converter must undo our conversion."""
    from mmdet.models.backbones.swin import swin_converter
    body = OrderedDict((k[len('module.backbone.body.'):], v)
                       for k, v in official.items()
                       if k.startswith('module.backbone.body.'))
    back = swin_converter(body)
    ref = OrderedDict((k, v) for k, v in sd.items() if k.startswith('backbone.'))
    ok, problems = km.state_dicts_equal(back, ref)
    if not ok:
        raise AssertionError('mmdet swin_converter disagrees:\n' +
                             '\n'.join(problems[:20]))


def official_patch_merging(x, H, W, norm_w, norm_b, red_w, eps=1e-5):
    """Patch merging as the original Swin code computes it."""
    B, L, C = x.shape
    x = x.view(B, H, W, C)
    x0 = x[:, 0::2, 0::2, :]
    x1 = x[:, 1::2, 0::2, :]
    x2 = x[:, 0::2, 1::2, :]
    x3 = x[:, 1::2, 1::2, :]
    x = torch.cat([x0, x1, x2, x3], -1).view(B, -1, 4 * C)
    x = torch.nn.functional.layer_norm(x, (4 * C, ), norm_w, norm_b, eps)
    return x @ red_w.t()


def check_patch_merging_functionally(model, official: dict, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed + 2)
    for i, stage in enumerate(model.backbone.stages):
        ds = stage.downsample
        if ds is None:
            continue
        C = ds.in_channels
        H, W = 6, 10
        x = torch.randn(2, H * W, C, generator=gen)
        with torch.no_grad():
            ref, _ = ds(x, (H, W))
            p = f'module.backbone.body.layers.{i}.downsample.'
            out = official_patch_merging(
                x, H, W, official[p + 'norm.weight'], official[p + 'norm.bias'],
                official[p + 'reduction.weight'], eps=ds.norm.eps)
        err = (ref - out).abs().max().item()
        if err > 1e-4:
            raise AssertionError(f'patch merging stage {i}: max err {err}')
