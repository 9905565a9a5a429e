#!/usr/bin/env python
"""Time mmglip's PyTorch path against its exported model in each runtime and
precision, interleaved, and print how far each faster precision drifts
(maintainers' check of issue 21, item 4).

    python tools/deploy/speed_table.py \\
        --checkpoint glip-t_c=C.pth --onnx glip-t_c=ONNX_C \\
        --int8 glip-t_c=ONNX_C_INT8 --bert-dir BERT \\
        --backends onnxruntime openvino openvino:bf16 --reps 5

Per variant, one process per column, each loaded once: mmglip's PyTorch
path, then the folder of ``--onnx`` (exported fp32 by
tools/deploy/export_onnx.py from the same weights) in each of
``--backends`` (BACKEND or BACKEND:PRECISION), and the folder of
``--int8`` (exported with ``--precision int8``) in ONNX Runtime when
given. After ``--warmup`` untimed rounds come ``--reps`` rounds; in a
round each process runs one image (pipeline + model, the 80 COCO names,
``--size``) in turn while the others wait (``--pause`` seconds between
two), so all columns of a round see the same load from other jobs.
Reported per column: the median seconds, the median over rounds of its
time / PyTorch's time in the same round (with each round's ratio, and
the load average), and its drift from PyTorch's fp32 detections on that
image (:func:`mmglip.deploy.agreement.drift`: top-10 kept with the same
label and IoU >= 0.9, the largest score and box drift of those, the
top-1).
"""
import argparse
import os
import os.path as osp
import statistics
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_file, positive_int,
                              run_tool)

COLUMNS = ('onnxruntime', 'openvino', 'openvino:bf16')
DEFAULT_IMAGE = osp.join(REPO, 'demo', 'data', 'raccoon_mini', 'valid',
                         'raccoon-106.jpg')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('--checkpoint', action='append', required=True,
                   metavar='VARIANT=FILE', help='a variant (zoo name) and '
                   'its weights; repeat')
    p.add_argument('--onnx', action='append', required=True,
                   metavar='VARIANT=DIR', help='its fp32 export; repeat')
    p.add_argument('--int8', action='append', default=[],
                   metavar='VARIANT=DIR', help='its int8 export (ONNX '
                   'Runtime column); repeat')
    p.add_argument('--backends', nargs='+', default=list(COLUMNS),
                   choices=COLUMNS, help='runtimes of the --onnx folder')
    p.add_argument('--bert-dir', help='local language-model directory')
    p.add_argument('--image', default=DEFAULT_IMAGE, help='a JPEG')
    p.add_argument('--size', nargs=2, type=positive_int, default=[800, 1333],
                   metavar=('SHORT', 'LONG'), help='test resize scale')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--reps', type=positive_int, default=5)
    p.add_argument('--pause', type=float, default=1.0,
                   help='seconds between two columns\' runs (a runtime\'s '
                   'threads may spin a moment after a run)')
    add_debug_flag(p)
    return p.parse_args(argv)


def _pairs(items, flag, check):
    found = {}
    for item in items:
        variant, sep, path = item.partition('=')
        if not sep:
            raise UserError(f'{flag} {item}: write VARIANT=PATH.')
        found[variant] = check(path, flag)
    return found


def _folder(path, flag):
    if not osp.isdir(path):
        raise UserError(f'{flag} {path}: no such folder.')
    return path


def measure(args, variant, checkpoint, onnx, int8):
    """{column: (times, detections)} and each round's load average."""
    from mmglip.benchmark.speed import measure_interleaved
    base = dict(variant=variant, checkpoint=checkpoint, size=args.size,
                bert_dir=args.bert_dir, image=args.image)
    specs = {'PyTorch': base}
    for column in args.backends:
        specs[column] = dict(base, onnx=onnx, backend=column)
    if int8:
        specs['onnxruntime int8'] = dict(base, onnx=int8,
                                         backend='onnxruntime')

    def log(msg):
        print(f'  {variant}: {msg}', file=sys.stderr, flush=True)

    return measure_interleaved(specs, args.warmup, args.reps, args.pause,
                               log)


def rows(variant, results, loads):
    from mmengine.structures import InstanceData

    from mmglip.deploy.agreement import drift
    ref_times, ref_found = results['PyTorch']
    ref = InstanceData(**ref_found)
    out = []
    for name, (times, found) in results.items():
        ratios = [t / r for t, r in zip(times, ref_times)]
        if name == 'PyTorch':
            cells = ['1', '-', '-', '-', '-', '-']
        else:
            d = drift(ref, InstanceData(**found))
            cells = [f'{statistics.median(ratios):.2f}',
                     ' '.join(f'{r:.2f}' for r in ratios),
                     f'{d.kept} / {d.count_ref}', f'{d.score_drift:.4f}',
                     f'{d.box_drift:.2f}',
                     'same' if d.top1_same else 'another']
        out.append(f'| {variant} | {name} | {statistics.median(times):.2f} '
                   f'| ' + ' | '.join(cells) + ' |')
    cells = [variant, 'load average', '', '',
             ' '.join(f'{x:.1f}' for x in loads), '', '', '', '']
    out.append('| ' + ' | '.join(cells) + ' |')
    return out


def main(argv=None):
    args = parse_args(argv)
    checkpoints = _pairs(args.checkpoint, '--checkpoint', check_file)
    onnx = _pairs(args.onnx, '--onnx', _folder)
    int8 = _pairs(args.int8, '--int8', _folder)
    check_file(args.image, '--image')
    missing = sorted(set(checkpoints) - set(onnx))
    if missing:
        raise UserError(f'--onnx VARIANT=DIR is missing for {missing}.')
    lines = []
    for variant, checkpoint in checkpoints.items():
        results, loads = measure(args, variant, checkpoint, onnx[variant],
                                 int8.get(variant))
        lines += rows(variant, results, loads)
    print(f'\n{osp.basename(args.image)}, {args.size[0]} x {args.size[1]}, '
          f'the 80 COCO names; warm-up {args.warmup}, {args.reps} rounds; '
          f'{os.cpu_count()} cores\n')
    print('| variant | column | median s | / PyTorch (median of rounds) | '
          'per round | top-10 kept | score drift | box drift (px) | '
          'top-1 |')
    print('| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | --- |')
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
