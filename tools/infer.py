#!/usr/bin/env python
"""Detect free-text phrases in images with GLIP.

    python tools/infer.py IMAGES MODEL --weights CKPT --texts "cat. remote"

IMAGES: an image, a folder or several; MODEL: a config or a model name
(glip-t_a, glip-t_b, glip-t_c, glip-t, glip-l). Writes
OUT/preds/<image stem>.json (labels, label_names, scores, bboxes as x1, y1,
x2, y2 in original pixels) and OUT/vis/<image> with the boxes drawn.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    p.add_argument('inputs', nargs='+', help='images or folders')
    p.add_argument('model', help='config file or model name')
    p.add_argument('--weights', help='checkpoint (official GLIP or mmglip)')
    p.add_argument('--weights-key', default='model',
                   choices=['model', 'model_ema'],
                   help='which weights of an official file')
    p.add_argument('--texts', required=True,
                   help='class names / phrases separated by ". "')
    p.add_argument('--pred-score-thr', type=float, default=0.3,
                   help='keep predictions scoring at least this')
    p.add_argument('--out-dir', default='outputs')
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--language-model',
                   help='hub id or local directory of the text encoder')
    p.add_argument('--no-vis', action='store_true', help='skip drawing')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='override config keys, key=value')
    return p.parse_args(argv)


def _cfg_options(pairs):
    from mmengine.config import DictAction
    ns = argparse.Namespace(opts=None)
    DictAction(option_strings=[], dest='opts')(None, ns, pairs)
    return ns.opts or {}


def draw(image_path, pred, out_path):
    from PIL import Image, ImageDraw
    img = Image.open(image_path).convert('RGB')
    canvas = ImageDraw.Draw(img)
    for box, name, score in zip(pred['bboxes'], pred['label_names'],
                                pred['scores']):
        canvas.rectangle(box, outline=(255, 0, 0), width=3)
        canvas.text((box[0] + 3, box[1] + 2), f'{name} {score:.2f}',
                    fill=(255, 255, 0))
    img.save(out_path)


def main(argv=None):
    args = parse_args(argv)
    from mmglip.apis import inference, init_model, list_images
    from mmglip.text import PromptError, split_texts
    names = split_texts(args.texts)
    if not names:
        raise PromptError('--texts is empty: give phrases such as '
                          '"cat. remote control".')
    images = list_images(args.inputs)
    model = init_model(args.model, args.weights, args.device,
                       args.weights_key, args.language_model,
                       _cfg_options(args.cfg_options))
    if getattr(model, 'load_report', None) is not None:
        print(model.load_report)
    results = inference(model, images, names, args.batch_size)
    os.makedirs(osp.join(args.out_dir, 'preds'), exist_ok=True)
    if not args.no_vis:
        os.makedirs(osp.join(args.out_dir, 'vis'), exist_ok=True)
    for path, sample in zip(images, results):
        inst = sample.pred_instances
        keep = inst.scores >= args.pred_score_thr
        pred = dict(
            img_path=path,
            texts=names,
            labels=inst.labels[keep].tolist(),
            label_names=[n for n, k in zip(inst.label_names, keep) if k],
            scores=inst.scores[keep].tolist(),
            bboxes=inst.bboxes[keep].tolist())
        stem = osp.splitext(osp.basename(path))[0]
        with open(osp.join(args.out_dir, 'preds', stem + '.json'), 'w') as f:
            json.dump(pred, f)
        if not args.no_vis:
            draw(path, pred, osp.join(args.out_dir, 'vis', osp.basename(path)))
        found = ', '.join(f'{n} {s:.2f}' for n, s in zip(
            pred['label_names'][:5], pred['scores'][:5]))
        print(f'{path}: {len(pred["scores"])} detections'
              f'{" (top: " + found + ")" if found else ""}')
    print(f'Predictions written to {osp.join(args.out_dir, "preds")}')


if __name__ == '__main__':
    main()
