#!/usr/bin/env python
"""Export full-size GLIP variants and print how ONNX Runtime's detections
agree with mmglip's PyTorch detections (maintainers' check of issue 21).

    python tools/deploy/agreement_table.py \\
        --checkpoint glip-t_c=C.pth --checkpoint glip-t_a=A.pth \\
        --bert-dir BERT --work-dir work_dirs/onnx_agreement

Per variant: the model with the official-layout checkpoint (e.g. made by
.dev_scripts/parity/make_official_checkpoint.py) is exported into
WORK_DIR/VARIANT by tools/deploy/export_onnx.py's code (its self-check
included), then both backends detect, on each image (``--images``:
JPEGs, default the first ``--num-images`` of ../shared/data's Raccoon),
with three prompts: the 80 COCO names, a free caption with two phrases,
and the 1,203 LVIS names (40 per chunk, as the LVIS configs). One markdown
row per variant, prompt and image: top-100 detections compared rank by
rank (labels, largest score and box differences), whether they are within
the issue's bar (scores 1e-4, boxes 0.01 px) and each backend's seconds.
"""
import argparse
import glob
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_file, positive_int,
                              run_tool)

CAPTION = 'a raccoon climbing a tree next to a wooden fence'
CAPTION_PHRASES = ('a raccoon', 'a wooden fence')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('--checkpoint', action='append', required=True,
                   metavar='VARIANT=FILE',
                   help='a variant (zoo name) and its weights; repeat')
    p.add_argument('--bert-dir', help='local language-model directory '
                   '(config + vocabulary) for the tokenizer')
    p.add_argument('--work-dir', default='work_dirs/onnx_agreement')
    p.add_argument('--images', nargs='+', help='image files')
    p.add_argument('--num-images', type=positive_int, default=1)
    p.add_argument('--prompts', nargs='+', default=['coco', 'caption',
                                                    'lvis'],
                   choices=['coco', 'caption', 'lvis'])
    p.add_argument('--overwrite', action='store_true',
                   help='replace earlier exports in WORK_DIR')
    p.add_argument('--reuse', action='store_true',
                   help='use an earlier export in WORK_DIR/VARIANT (checked '
                   'to hold the variant and these weights) instead of '
                   'exporting again')
    add_debug_flag(p)
    return p.parse_args(argv)


def _images(args):
    if args.images:
        return [check_file(i, '--images') for i in args.images]
    root = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__))))), 'shared', 'data', 'raccoon')
    found = sorted(glob.glob(osp.join(root, '**', '*.jpg'), recursive=True))
    if not found:
        raise UserError(f'No JPEGs under {root}: give --images.')
    return found[:args.num_images]


def _prompt(kind):
    """(text, tokens_positive, chunk_size) of a prompt kind."""
    from mmdet.datasets import CocoDataset, LVISV1Dataset
    if kind == 'coco':
        return list(CocoDataset.METAINFO['classes']), None, None
    if kind == 'lvis':
        return list(LVISV1Dataset.METAINFO['classes']), None, 40
    spans = [[[CAPTION.index(p), CAPTION.index(p) + len(p)]]
             for p in CAPTION_PHRASES]
    return CAPTION, spans, None


def _detect(model, image, text, spans):
    import torch
    from mmengine.dataset import pseudo_collate

    from mmglip.apis.inference import test_pipeline
    data = test_pipeline(model.cfg)(dict(img_path=image, img_id=0,
                                         text=text, custom_entities=True))
    if spans is not None:
        data['data_samples'].set_metainfo(dict(tokens_positive=spans))
    start = time.time()
    with torch.inference_mode():
        out = model.test_step(pseudo_collate([data]))[0].pred_instances
    return out, time.time() - start


def main(argv=None):
    args = parse_args(argv)
    pairs = []
    for item in args.checkpoint:
        variant, sep, path = item.partition('=')
        if not sep:
            raise UserError(f'--checkpoint {item}: write VARIANT=FILE.')
        pairs.append((variant, check_file(path, '--checkpoint')))
    images = _images(args)
    from mmglip.apis import init_model
    from mmglip.deploy import (OrtGLIP, compare, export_onnx,
                               load_onnx_model, weights_identity)
    rows = []
    for variant, weights in pairs:
        print(f'== {variant}: loading {weights}', flush=True)
        model = init_model(variant, weights, language_model=args.bert_dir)
        out = osp.join(args.work_dir, variant)
        if args.reuse and osp.isdir(out):
            ort_model = load_onnx_model(out, model.cfg, weights, variant)
        else:
            export_onnx(model, out, variant=variant,
                        weights=weights_identity(weights),
                        check_image=images[0], overwrite=args.overwrite)
            ort_model = OrtGLIP(out, model.cfg)
        for kind in args.prompts:
            text, spans, chunk_size = _prompt(kind)
            model.chunk_size = ort_model.chunk_size = chunk_size
            for image in images:
                ref, t_ref = _detect(model, image, text, spans)
                got, t_got = _detect(ort_model, image, text, spans)
                a = compare(ref, got)
                rows.append(
                    f'| {variant} | {kind} | {osp.basename(image)} | '
                    f'{a.count} / {a.count_ref} | '
                    f'{"same" if a.labels_same else "differ"} | '
                    f'{a.max_score_diff:.1e} | {a.max_box_diff:.1e} | '
                    f'{"yes" if a.ok() else "NO"} | {t_ref:.2f} | '
                    f'{t_got:.2f} |')
                print(rows[-1], flush=True)
    print('\n| variant | prompt | image | top-100 kept | paired | max score '
          'diff | max box diff (px) | within 1e-4 / 0.01 px | PyTorch s | '
          'ONNX Runtime s |')
    print('| --- | --- | --- | ---: | --- | ---: | ---: | --- | ---: | ---: |')
    print('\n'.join(rows))
    return 0 if all('| yes |' in r for r in rows) else 1


if __name__ == '__main__':
    sys.exit(run_tool(main))
