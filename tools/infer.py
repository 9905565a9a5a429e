#!/usr/bin/env python
"""Detect free-text phrases in images with GLIP.

    python tools/infer.py IMAGES MODEL --weights CKPT --texts "cat. remote"

IMAGES: image files and / or folders of images; MODEL: a config file or a
model name (glip-t_a, glip-t_b, glip-t_c, glip-t, glip-l, glip-lite).

--texts: one string is split into names at each period followed by a space
("cat. remote control" -> cat, remote control; "raccoon.dog" stays one
name); several strings are taken as one name each (--texts "Mr. Smith" dog).

--backend onnxruntime --onnx DIR: the networks run in ONNX Runtime from the
folder tools/deploy/export_onnx.py wrote for MODEL (a folder of another
model, or of other --weights, is refused); prompts, post-processing and
outputs are the same. --backend openvino: the same folder in OpenVINO
(faster on x86 CPUs); --precision bf16 with it: the detector in bfloat16.

Outputs, written one image at a time as each finishes (an interrupted run
keeps what was written; --skip-existing continues it), each announced by a
line with the images done / total and the time left ([3/40, ETA 1m05s]):
  OUT/preds/<name>.json  labels, label_names, scores, bboxes (x1, y1, x2, y2
                         in original pixels), texts, img_path
  OUT/vis/<name>.<ext>   the image with the boxes drawn
<name> is the image's file name without suffix; where two inputs share it,
their paths relative to the inputs' common folder (a/x, b/x), with the
suffix where that is still ambiguous (x.jpg + x.png).
Existing outputs are never overwritten unless --overwrite is given.

An image that cannot be read is skipped with one line naming it. Exit
status: 0 when every image was written, else the number of images that
failed (at most 100); 2 for an error in the arguments, 130 after Ctrl-C.
"""
import argparse
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmglip.utils.outputs import (output_names, output_paths,  # noqa: E402
                                  prediction)
from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_device,
                              check_writable_dir, positive_int, run_tool,
                              warn, warn_unknown_cfg_keys)

MAX_FAILED_STATUS = 100


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('inputs', nargs='+', help='image files and / or folders')
    p.add_argument('model', help='config file or model name')
    p.add_argument('--weights', help='checkpoint: an official GLIP file, an '
                   'mmglip checkpoint or a zoo name (default: the model\'s '
                   'initialisation, pretrained parts only)')
    p.add_argument('--weights-key', default='model',
                   choices=['model', 'model_ema'],
                   help='which weights: model, or model_ema (EMA weights; '
                   'an error for a file saved without EMA)')
    p.add_argument('--texts', required=True, nargs='+',
                   help='class names / phrases: one string split on ". ", '
                   'or several strings, one name each')
    p.add_argument('--pred-score-thr', type=float, default=0.3,
                   help='keep predictions scoring at least this (scores lie '
                   'in [0, 1])')
    p.add_argument('--out-dir', default='outputs',
                   help='where preds/ and vis/ are written')
    p.add_argument('--overwrite', action='store_true',
                   help='replace outputs of an earlier run in --out-dir')
    p.add_argument('--skip-existing', action='store_true',
                   help='skip images whose prediction file already exists '
                   '(to continue an interrupted run)')
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    p.add_argument('--backend', default='pytorch',
                   choices=['pytorch', 'onnxruntime', 'openvino'],
                   help='run the networks in PyTorch, or in ONNX Runtime '
                   'or OpenVINO from the --onnx folder (same prompts, '
                   'post-processing and outputs)')
    p.add_argument('--onnx', metavar='DIR',
                   help='with --backend onnxruntime / openvino: the folder '
                   'tools/deploy/export_onnx.py wrote for MODEL')
    p.add_argument('--precision', default='fp32', choices=['fp32', 'bf16'],
                   help='with --backend openvino: bf16 computes the '
                   'detector in bfloat16 (faster on CPUs with AVX512-BF16 '
                   'or AMX; detections drift, README "Deploy")')
    p.add_argument('--batch-size', type=positive_int, default=1,
                   help='images per forward pass. Images of a batch are '
                   'padded to its largest size and GLIP\'s global '
                   'attention sees the padding, so with a batch size > 1 '
                   'scores can differ slightly from batch size 1 unless '
                   'the images share one size')
    p.add_argument('--language-model',
                   help='hub id or local directory of the text encoder '
                   '(default: the config\'s)')
    p.add_argument('--no-vis', action='store_true', help='skip drawing')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='override config keys, key=value')
    add_debug_flag(p)
    args = p.parse_args(argv)
    if args.overwrite and args.skip_existing:
        p.error('--overwrite and --skip-existing exclude each other')
    if not 0 <= args.pred_score_thr <= 1:  # NaN fails too
        raise UserError(
            f'--pred-score-thr {args.pred_score_thr:g}: scores lie in '
            '[0, 1], so no prediction would be kept; give a threshold '
            'between 0 and 1 (e.g. 0.3).')
    return args


def _cfg_options(pairs):
    from mmengine.config import DictAction
    ns = argparse.Namespace(opts=None)
    try:
        DictAction(option_strings=[], dest='opts')(None, ns, pairs)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f'--cfg-options {" ".join(pairs)}: {exc}; write '
                        'key=value pairs')
    return ns.opts or {}


def split_names(texts):
    """--texts values -> names (the API's prompt_names): one string is split
    on ". ", several are one name each."""
    from mmglip.apis.inference import prompt_names
    return prompt_names(texts[0] if len(texts) == 1 else texts, '--texts')


def list_inputs(inputs):
    """Image paths of the inputs (files, folders one level deep); a missing
    path or a folder without images is an error naming it."""
    from mmglip.utils.images import list_images
    return list_images(inputs, on_duplicate=lambda p: warn(
        f'{p} is given twice; predicted once'))


def check_outputs(args, images, names):
    """Before the model loads: the output folder is writable and no output
    of an earlier run would be overwritten silently."""
    check_writable_dir(args.out_dir, '--out-dir')
    for sub in ('preds', 'vis'):
        path = osp.join(args.out_dir, sub)
        if osp.exists(path) and not osp.isdir(path):
            raise UserError(f'--out-dir: {path} is a file; remove it or '
                            'choose another --out-dir.')
    existing = [p for img in images for p in output_paths(
        args.out_dir, names[img], img, not args.no_vis).values()
                if osp.exists(p)]
    if existing and not (args.overwrite or args.skip_existing):
        raise UserError(
            f'--out-dir {args.out_dir} already holds outputs for '
            f'{len(existing)} of these images (e.g. {existing[0]}); add '
            '--skip-existing to continue that run, --overwrite to replace '
            'them, or choose another --out-dir.')


def check_weights_arg(weights, key='model'):
    """An existing checkpoint file with ``key`` weights, or a zoo name
    (``glip-t_c``, ``mmglip://...``): mmglip.weights.load.check_source."""
    from mmglip.weights.load import check_source
    check_source(weights, key, '--weights')


def write_json(path, data):
    """Written whole or not at all (an interrupted run leaves no half file).
    """
    from mmglip.utils.io import atomic_write_json
    atomic_write_json(path, data)


def duration(seconds):
    """``45s``, ``2m05s``, ``1h02m``: how long, to the second."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f'{seconds}s'
    if seconds < 3600:
        return f'{seconds // 60}m{seconds % 60:02d}s'
    return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'


class Progress:
    """``[done/total, ETA ...]``: images done of the run's total and the
    time left at the mean time per image so far (from ``start``)."""

    def __init__(self, total, start):
        self.total, self.start, self.done = total, start, 0

    def step(self, now=None):
        """Count one more image done; its ``[done/total, ETA ...]``."""
        self.done += 1
        now = time.time() if now is None else now
        left = (now - self.start) / self.done * (self.total - self.done)
        width = len(str(self.total))
        return f'[{self.done:{width}d}/{self.total}, ETA {duration(left)}]'


def main(argv=None):
    args = parse_args(argv)
    # everything the user gave is checked before the model is built
    from mmglip.deploy import check_backend_args
    check_backend_args(args)
    names = split_names(args.texts)
    images = list_inputs(args.inputs)
    out_names = output_names(images)
    check_outputs(args, images, out_names)
    if args.weights:
        check_weights_arg(args.weights, args.weights_key)
    check_device(args.device)
    from mmglip.apis.inference import resolve_config
    config = resolve_config(args.model)
    cfg_options = _cfg_options(args.cfg_options)
    if cfg_options:
        from mmengine.config import Config
        warn_unknown_cfg_keys(Config.fromfile(config), cfg_options)

    from mmglip.apis import init_model, iter_inference
    from mmglip.apis.inference import prompt_warnings
    todo = images
    if args.skip_existing:
        todo = [img for img in images if not osp.exists(output_paths(
            args.out_dir, out_names[img], img, False)['pred'])]
        if len(todo) < len(images):
            print(f'{len(images) - len(todo)} of {len(images)} images '
                  'already have predictions; skipped')
    model = init_model(config, args.weights, args.device, args.weights_key,
                       args.language_model, cfg_options,
                       backend=args.backend, onnx=args.onnx,
                       precision=args.precision)
    if getattr(model, 'load_report', None) is not None:
        print(model.load_report)
    for msg in prompt_warnings(model, names):
        warn(msg)
    draw = None
    if not args.no_vis:
        from mmglip.visualization import draw_predictions as draw

    failed, done, t0 = [], 0, time.time()
    progress = Progress(len(todo), t0)
    for res in iter_inference(model, todo, names, args.batch_size):
        if res.error is not None:
            failed.append(res.source)
            print(f'{progress.step()} skipped {res.error}', file=sys.stderr,
                  flush=True)
            continue
        pred = prediction(res, names, args.pred_score_thr)
        paths = output_paths(args.out_dir, out_names[res.source], res.source,
                             draw is not None)
        if draw is not None:
            os.makedirs(osp.dirname(paths['vis']), exist_ok=True)
            draw(res.source, pred, paths['vis'], class_names=names)
        write_json(paths['pred'], pred)
        done += 1
        found = ', '.join(f'{n} {s:.2f}' for n, s in zip(
            pred['label_names'][:5], pred['scores'][:5]))
        print(f'{progress.step()} {res.source}: {len(pred["scores"])} '
              f'detections{" (top: " + found + ")" if found else ""}',
              flush=True)
    print(f'{done} of {len(todo)} images written to '
          f'{osp.join(args.out_dir, "preds")} in {time.time() - t0:.1f} s'
          + (f'; {len(failed)} could not be read: {", ".join(failed)}'
             if failed else ''))
    return min(len(failed), MAX_FAILED_STATUS)


if __name__ == '__main__':
    sys.exit(run_tool(main))
