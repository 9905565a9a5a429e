#!/usr/bin/env python
"""Make a seeded random GLIP checkpoint in the OFFICIAL (microsoft/GLIP) layout.

Run inside the reference venv (.dev_scripts/parity/setup_reference_env.sh):

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv-ref/bin/python \\
        .dev_scripts/parity/make_official_checkpoint.py --variant glip-t_c \\
        --bert-dir /tmp/parity/bert --out /tmp/parity/glip-t_c_official.pth

It builds MMDetection 3.3's GLIP from the mmdet config of the variant (BERT
read from the local ``--bert-dir``), gives it deterministic random weights,
converts the mmdet state dict to the official key layout (glip_keymap) and
saves ``{"model": {"module.<key>": tensor}, "optimizer": ..., "scheduler":
..., "iteration": 0}`` like the released official files.

Before saving it checks:
  * official_to_mmdet(mmdet_to_official(sd)) == sd exactly (keys, dtypes,
    shapes, values), also with the official-only extras present;
  * mmdet's own ``swin_converter`` (official -> mmdet Swin) maps our official
    Swin tensors back onto the mmdet ones (cross-check of the patch-merging
    channel permutation against mmdet's code);
  * a functional check of patch merging: the official formula (cat of the
    x[0::2,0::2], x[1::2,0::2], x[0::2,1::2], x[1::2,1::2] neighbours, norm,
    reduction) with the official-layout weights equals mmdet's PatchMerging
    with the mmdet weights;
  * every official key matches the layout documented in
    shared/docs/GLIP-REFERENCE.md section 4 (independent regexes and shapes
    below), every documented group is present, the tower has the documented
    per-block module order;
  * the converted-back state dict loads into the model with strict=True.
"""
from __future__ import annotations

import argparse
import math
import os
import os.path as osp
import sys
import time
from collections import OrderedDict

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import torch  # noqa: E402

import glip_keymap as km  # noqa: E402
from layout_checks import (check_documented_layout,  # noqa: E402
                           check_patch_merging_functionally,
                           check_swin_against_mmdet_converter)

VARIANT_CONFIGS = {
    'glip-t_a': 'glip_atss_swin-t_a_fpn_dyhead_pretrain_obj365.py',
    'glip-t_c': 'glip_atss_swin-t_c_fpn_dyhead_pretrain_obj365-goldg.py',
}
EARLY_FUSION = {'glip-t_a': False, 'glip-t_c': True}


def mmdet_config_path(variant: str) -> str:
    import mmdet
    root = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'glip')
    path = osp.join(root, VARIANT_CONFIGS[variant])
    if not osp.isfile(path):
        raise SystemExit(f'mmdet config not found: {path}')
    return path


def load_glip_config(variant: str, bert_dir: str):
    """mmdet's config for the variant with BERT pointed at a local dir."""
    from mmengine.config import Config
    cfg = Config.fromfile(mmdet_config_path(variant))
    bert_dir = osp.abspath(bert_dir)
    cfg.lang_model_name = bert_dir
    cfg.model.bbox_head.lang_model_name = bert_dir
    cfg.model.language_model.name = bert_dir
    return cfg


def build_glip(cfg):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    return MODELS.build(cfg.model)


# --------------------------------------------------------------------------
# random weights
# --------------------------------------------------------------------------
def randomise_(model, seed: int, bias0: float) -> dict:
    """Make the (already seeded, default-initialised) weights "interesting".

    A freshly initialised GLIP has many parameters that are exactly zero or
    exactly constant: conv / linear biases, DyHead offset convs, mmcv's
    deformable-conv biases, the head's ``bias_lang`` and ``log_scale``, the
    Swin relative-position tables, and ones in LayerNorm / GroupNorm weights,
    the X-MHA layer-scale gammas (1/6) and the FPN-level ``scales`` (1.0).
    With such values a whole path contributes nothing (a zero offset conv
    makes the deformable convs plain convs, a zero bias is never read, a
    constant norm weight hides a channel permutation), so a parity test would
    pass even if the other implementation mapped or used those tensors
    wrongly. Every exactly-zero tensor therefore gets small N(0, 0.02) values
    and every constant non-zero tensor gets multiplied by 1 + N(0, 0.1) per
    element.

    ``bias0`` (official init -log(99) = -4.6) is set to ``bias0`` (default 0)
    so token probabilities sit near 0.5 instead of 0.01 and detections pass
    the 0.05 score threshold with varied scores.
    """
    gen = torch.Generator().manual_seed(seed + 1)
    stats = {'zero_filled': [], 'const_jittered': []}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.dtype.is_floating_point:
                continue
            flat = p.detach().reshape(-1)
            if flat.numel() == 0:
                continue
            if torch.all(flat == 0):
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))
                stats['zero_filled'].append(name)
            elif torch.all(flat == flat[0]):
                p.mul_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
                stats['const_jittered'].append(name)
        model.bbox_head.head.bias0.fill_(bias0)
    return stats


CALIBRATION_PROMPT = 'person. dog. cat. traffic light. teddy bear'
# target standard deviations of the head outputs on the calibration input
SPREAD_TARGETS = {'dot': 0.35, 'bias_lang': 0.15, 'centerness': 0.4,
                  'bbox': 2.0}


def calibration_image(seed: int, h: int = 256, w: int = 384) -> torch.Tensor:
    """A deterministic, normalised-image-like input: smooth low-frequency
    noise (upsampled 8x12 grid) plus a little pixel noise, std ~1."""
    gen = torch.Generator().manual_seed(seed + 5)
    low = torch.randn(1, 3, 8, 12, generator=gen)
    img = torch.nn.functional.interpolate(low, size=(h, w), mode='bilinear',
                                          align_corners=False)
    return img + 0.2 * torch.randn(1, 3, h, w, generator=gen)


def head_output_stats(model, seed: int) -> dict:
    head = model.bbox_head.head
    with torch.no_grad():
        _, caption, _, _ = model.get_tokens_and_prompts(CALIBRATION_PROMPT, True)
        lang = model.language_model([caption])
        mask = lang['masks'][0].bool()
        vis = model.extract_feat(calibration_image(seed))
        cls, bbox, ctr = model.bbox_head(vis, lang)
    logits = torch.cat([c[0][:, mask].reshape(-1) for c in cls])
    return {
        'dot': logits.std().item(),
        'logit_mean': logits.mean().item(),
        'centerness': torch.cat([c.reshape(-1) for c in ctr]).std().item(),
        'bbox': torch.cat([b.reshape(-1) for b in bbox]).std().item(),
        'log_scale': head.log_scale.item(),
    }


def _round3(x: float) -> float:
    return float(f'{x:.3g}')


def spread_predictors_(model, seed: int) -> dict:
    """Calibrate the head's output spread so that detections are informative.

    With default-initialised predictors the outputs are nearly constant
    (GLIP-T (A), 800x1333: alignment logits std ~0.05, centerness logits std
    ~0.05, box deltas std ~0.15: every top-100 score within 0.517..0.525 and
    every box its anchor), and with fixed large factors they saturate (GLIP-T
    (C) top-100 scores 0.99+, where the sigmoid hides logit errors). So the
    spread is measured on a deterministic synthetic input with
    ``CALIBRATION_PROMPT`` (bias_lang and bias0 zeroed meanwhile) and set to
    ``SPREAD_TARGETS``: ``log_scale`` is shifted so the dot-product logits
    have std 0.35, ``centerness.weight`` / ``bbox_pred.weight`` are scaled to
    output std 0.4 / 2.0 (box deltas of a few tenths after the coder's
    0.1 / 0.2 stds), and ``bias_lang`` ~ N(0, 0.15) (the text embedding is
    L2-normalised, so per-token biases get std ~0.15).
    """
    head = model.bbox_head.head
    gen = torch.Generator().manual_seed(seed + 4)
    with torch.no_grad():
        bias0 = head.bias0.detach().clone()
        head.bias_lang.zero_()
        head.bias0.zero_()
        before = head_output_stats(model, seed)
        # factors rounded to 3 significant digits, so that last-bit
        # differences of the calibration forward between CPUs / BLAS builds
        # do not change the checkpoint
        head.log_scale.add_(math.log(_round3(before['dot'] / SPREAD_TARGETS['dot'])))
        head.centerness.weight.mul_(
            _round3(SPREAD_TARGETS['centerness'] / before['centerness']))
        head.bbox_pred.weight.mul_(_round3(SPREAD_TARGETS['bbox'] / before['bbox']))
        after = head_output_stats(model, seed)
        head.bias_lang.copy_(SPREAD_TARGETS['bias_lang'] *
                             torch.randn(head.bias_lang.shape, generator=gen))
        head.bias0.copy_(bias0)
    return {'before': before, 'after': after}


# --------------------------------------------------------------------------
def dump_keys(official: dict, path: str) -> None:
    with open(path, 'w') as f:
        for k, v in official.items():
            f.write(f'{k}\t{list(v.shape)}\t{str(v.dtype).replace("torch.", "")}\n')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--variant', choices=sorted(VARIANT_CONFIGS), required=True)
    parser.add_argument('--bert-dir', required=True,
                        help='local bert-base-uncased directory (make_bert_dir.py)')
    parser.add_argument('--out', required=True, help='output .pth')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--bias0', type=float, default=0.0,
                        help='value for rpn.head.bias0 (official init -4.595)')
    parser.add_argument('--no-spread', action='store_true',
                        help='keep the default-initialised head predictors '
                        '(scores then all sit near 0.52)')
    parser.add_argument('--no-extras', action='store_true',
                        help='leave out the official-only entries (anchors, '
                        'cls_logits, BERT position_ids)')
    parser.add_argument('--dump-keys', default=None,
                        help='also write "key<TAB>shape<TAB>dtype" lines here')
    args = parser.parse_args(argv)

    t0 = time.time()
    torch.manual_seed(args.seed)
    cfg = load_glip_config(args.variant, args.bert_dir)
    model = build_glip(cfg)
    try:
        # mmengine logs one INFO paragraph per parameter here; keep it quiet
        import logging
        from mmengine.logging import MMLogger
        MMLogger.get_current_instance().setLevel(logging.WARNING)
        model.init_weights()
    except Exception as e:  # noqa: BLE001 - mmengine init quirks
        print(f'note: model.init_weights() failed ({e!r}); keeping the '
              'modules\' default initialisation')
    model.eval()
    stats = randomise_(model, args.seed, args.bias0)
    if not args.no_spread:
        spread = spread_predictors_(model, args.seed)
        print('head output std on the calibration input: ' + ', '.join(
            f'{k} {spread["before"][k]:.3f} -> {spread["after"][k]:.3f}'
            for k in ('dot', 'centerness', 'bbox')) +
            f'; log_scale {spread["after"]["log_scale"]:.3f}')
    print(f'built {args.variant} in {time.time() - t0:.1f} s; '
          f'{len(stats["zero_filled"])} zero tensors filled, '
          f'{len(stats["const_jittered"])} constant tensors jittered')

    sd = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    official = km.mmdet_to_official(sd)

    # 1. exact round trip
    back = km.official_to_mmdet(official)
    ok, problems = km.state_dicts_equal(back, sd)
    assert ok, 'round trip failed:\n' + '\n'.join(problems[:30])

    extras = OrderedDict() if args.no_extras else km.official_extras(
        generator=torch.Generator().manual_seed(args.seed + 3))
    clash = set(extras) & set(official)
    assert not clash, clash
    full = OrderedDict(official)
    full.update(extras)
    back2, ignored = km.official_to_mmdet(full, return_ignored=True)
    ok, problems = km.state_dicts_equal(back2, sd)
    assert ok, 'round trip with extras failed:\n' + '\n'.join(problems[:30])
    assert sorted(ignored) == sorted(extras), (ignored, list(extras))

    # 2. patch merging: mmdet's own converter, and the original formula
    check_swin_against_mmdet_converter(sd, official)
    check_patch_merging_functionally(model, official, args.seed)

    # 3. documented layout
    check_documented_layout(full, EARLY_FUSION[args.variant])

    # 4. strict load
    result = model.load_state_dict(back2, strict=True)
    assert not result.missing_keys and not result.unexpected_keys, result
    print(f'checks passed: exact round trip of {len(sd)} tensors, '
          f'{len(extras)} official-only extras ignored on the way back, '
          'mmdet swin_converter agrees, patch merging matches the original '
          'formula, layout matches GLIP-REFERENCE.md section 4, strict load ok')

    ckpt = {
        'model': full,
        'optimizer': {'state': {}, 'param_groups': [],
                      'dummy': torch.zeros(4)},
        'scheduler': {'last_epoch': 0},
        'iteration': 0,
    }
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(ckpt, args.out)
    if args.dump_keys:
        dump_keys(full, args.dump_keys)
    n_params = sum(v.numel() for v in full.values())
    print(f'saved {args.out}: {len(full)} keys, {n_params / 1e6:.1f} M values, '
          f'{osp.getsize(args.out) / 2**20:.0f} MiB, in {time.time() - t0:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
