#!/usr/bin/env python
"""Run MMDetection 3.3's own GLIP on images from an OFFICIAL-layout checkpoint.

Run inside the reference venv (.dev_scripts/parity/setup_reference_env.sh):

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv-ref/bin/python \\
        .dev_scripts/parity/mmdet_reference.py --variant glip-t_c \\
        --checkpoint /tmp/parity/glip-t_c_official.pth --bert-dir /tmp/parity/bert \\
        --texts "person. bicycle. car" --out /tmp/parity/ref.json IMG1 IMG2 ...

The checkpoint (``{"model": {"module.*": tensor}}`` as released by
microsoft/GLIP, or a bare state dict) is converted with
``glip_keymap.official_to_mmdet`` and loaded into mmdet's GLIP built from the
mmdet config of the variant; any missing or unexpected key, other than the
known official-only ones (anchor buffers, cls_logits, BERT pooler /
position_ids), is an error. Inference uses mmdet's ``inference_detector`` with
the config's test pipeline (pillow decode, FixScaleResize 800x1333 with
pillow, PackDetInputs), ``text_prompt=--texts`` and ``custom_entities=True``,
so the text is split on '. ' into class names like mmdet's GLIP demo.

Output JSON::

    {
      "<image path as given>": {
        "bboxes": [[x1, y1, x2, y2], ...],   # original image pixels
        "scores": [...], "labels": [...],    # labels index _meta.entities
        "label_names": [...],
        "ori_shape": [h, w], "img_shape": [h, w], "scale_factor": [sx, sy],
        "seconds": float
      }, ...,
      "_meta": {
        "variant", "checkpoint", "texts", "caption", "entities",
        "char_spans": [[[beg, end]], ...],      # per class, into caption
        "token_spans": [[tok, ...], ...],       # per class, token indices
                                                # (with [CLS] at 0)
        "input_ids": [...],                     # unpadded token ids
        "ignored_checkpoint_keys": [...], "versions": {...}, "test_cfg": {...}
      }
    }

Detections are mmdet's final ones (score > 0.05 before NMS 0.6, at most 100),
sorted by score descending (stable), at most ``--max-dets``.
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import sys
import time
import warnings

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import torch  # noqa: E402

import glip_keymap as km  # noqa: E402
from make_official_checkpoint import load_glip_config  # noqa: E402


def load_official_state_dict(path: str) -> dict:
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # noqa: BLE001 - older files may pickle other objects
        ckpt = torch.load(path, map_location='cpu', weights_only=False)
    if isinstance(ckpt, dict) and 'model' in ckpt and isinstance(ckpt['model'], dict):
        return ckpt['model']
    return ckpt


def build_reference_model(variant: str, checkpoint: str, bert_dir: str,
                          device: str = 'cpu', score_thr=None):
    from mmdet.apis import init_detector
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = load_glip_config(variant, bert_dir)
    if score_thr is not None:
        cfg.model.test_cfg.score_thr = score_thr
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_detector(cfg, checkpoint=None, palette='random',
                              device=device)
    official = load_official_state_dict(checkpoint)
    mm_sd, ignored = km.official_to_mmdet(official, return_ignored=True)
    result = model.load_state_dict(mm_sd, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise SystemExit(
            f'checkpoint does not fit mmdet GLIP ({variant}):\n'
            f'  missing ({len(result.missing_keys)}): {result.missing_keys[:20]}\n'
            f'  unexpected ({len(result.unexpected_keys)}): '
            f'{result.unexpected_keys[:20]}')
    model.eval()
    return model, cfg, ignored


def prompt_info(model, texts: str) -> dict:
    """Caption, class names and their char / token spans, as mmdet's GLIP
    builds them for ``custom_entities=True``."""
    tokenized, caption, char_spans, entities = model.get_tokens_and_prompts(
        texts, custom_entities=True)
    label_to_token, caption2, _, entities2 = \
        model.get_tokens_positive_and_prompts(texts, custom_entities=True)
    assert caption == caption2 and list(entities) == list(entities2)
    token_spans = [list(map(int, label_to_token[i + 1]))
                   for i in range(len(entities))]
    return {
        'texts': texts,
        'caption': caption,
        'entities': list(entities),
        'char_spans': [[list(map(int, s)) for s in spans] for spans in char_spans],
        'token_spans': token_spans,
        'input_ids': tokenized['input_ids'][0].tolist(),
    }


def to_list(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().tolist()
    if hasattr(x, 'tolist'):
        return x.tolist()
    return list(x) if isinstance(x, (tuple, list)) else x


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('images', nargs='+')
    parser.add_argument('--variant', choices=('glip-t_a', 'glip-t_c'), required=True)
    parser.add_argument('--checkpoint', required=True, help='official-layout .pth')
    parser.add_argument('--bert-dir', required=True)
    parser.add_argument('--texts', required=True,
                        help="class names joined by '. ' (no trailing separator)")
    parser.add_argument('--out', required=True)
    parser.add_argument('--max-dets', type=int, default=100)
    parser.add_argument('--score-thr', type=float, default=None,
                        help='override test_cfg.score_thr (config: 0.05)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)

    import mmcv
    import mmdet
    import mmengine
    import transformers
    from mmdet.apis import inference_detector

    t0 = time.time()
    model, cfg, ignored = build_reference_model(
        args.variant, args.checkpoint, args.bert_dir, args.device,
        args.score_thr)
    print(f'model ready in {time.time() - t0:.1f} s '
          f'({len(ignored)} official-only keys ignored)', flush=True)
    meta = {
        'variant': args.variant,
        'checkpoint': osp.abspath(args.checkpoint),
        **prompt_info(model, args.texts),
        'ignored_checkpoint_keys': ignored,
        'test_cfg': cfg.model.test_cfg.to_dict(),
        'test_pipeline': [dict(p) for p in cfg.test_pipeline],
        'versions': {'torch': torch.__version__, 'mmcv': mmcv.__version__,
                     'mmengine': mmengine.__version__,
                     'mmdet': mmdet.__version__,
                     'transformers': transformers.__version__},
    }
    results = {}
    for img in args.images:
        t1 = time.time()
        sample = inference_detector(model, img, text_prompt=args.texts,
                                    custom_entities=True)
        secs = time.time() - t1
        pred = sample.pred_instances
        scores = pred.scores.detach().cpu()
        order = torch.sort(scores, descending=True, stable=True).indices
        order = order[:args.max_dets]
        names = list(pred.get('label_names', []))
        results[img] = {
            'bboxes': pred.bboxes.detach().cpu()[order].tolist(),
            'scores': scores[order].tolist(),
            'labels': pred.labels.detach().cpu()[order].tolist(),
            'label_names': [names[i] for i in order.tolist()] if names else [],
            'ori_shape': to_list(sample.metainfo['ori_shape']),
            'img_shape': to_list(sample.metainfo['img_shape']),
            'scale_factor': to_list(sample.metainfo['scale_factor']),
            'seconds': round(secs, 2),
        }
        s = results[img]['scores']
        print(f'{img}: {len(s)} detections, scores '
              f'{(max(s) if s else float("nan")):.4f}..'
              f'{(min(s) if s else float("nan")):.4f}, {secs:.1f} s', flush=True)
    results['_meta'] = meta
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=1)
    print(f'wrote {args.out} in {time.time() - t0:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
