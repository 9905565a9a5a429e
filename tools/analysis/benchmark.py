#!/usr/bin/env python
"""Time mmglip and MMDetection 3.3's GLIP (the reference) side by side.

    python tools/analysis/benchmark.py --ref-python .venv-ref/bin/python

Both run the same weights (an official-layout checkpoint per variant: given
with ``--checkpoint VARIANT=FILE``, else made once by the reference's
``.dev_scripts/parity/make_official_checkpoint.py`` into ``--work-dir``),
the same BERT directory and the same images (JPEGs under ``--images``).
Parts (``--parts``):

  a  single-image latency (pipeline + model), the 80 COCO names;
  b  per-image time with LVIS's 1,203 names, ``--chunk-size`` per prompt;
  c  training step (loss, backward, SGD step) at ``--train-batch`` images,
     checkpointing off / on (mmglip: Swin ``with_cp``, fusion blocks
     ``use_checkpoint`` and X-MHA ``attn_cfg.checkpoint_heads``; the
     reference: its Swin and fusion checkpointing): time and peak memory
     (max RSS of the process; CUDA peak allocated on a GPU);
  d  on a GPU: fp16 / bf16 autocast latency and images per second at
     batch 1 and 8.

``--onnx VARIANT=DIR`` (a folder of ``tools/deploy/export_onnx.py`` for
the same weights) adds columns: mmglip with the networks in ONNX Runtime
(parts a and b), and ONNX Runtime / mmglip; ``--onnx-backends`` chooses
the runtimes of that folder, one column pair each (default onnxruntime;
e.g. ``onnxruntime openvino openvino:bf16``).

Every measurement runs in a fresh subprocess (``--warmup`` untimed calls,
``--reps`` timed ones, the median reported); the markdown table gives
mmglip, the reference and mmglip / reference. Without ``--ref-python`` only
mmglip runs. Variant ``glip-lite`` (mmglip only, its own pretrained parts)
makes a quick run.
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import tempfile

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PARITY = osp.join(REPO, '.dev_scripts', 'parity')
sys.path.insert(0, REPO)

from mmglip.utils.checkpoints import read_checkpoint  # noqa: E402
from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, positive_int, run_tool)

PARTS = ('a', 'b', 'c', 'd')
VARIANTS = ('glip-t_c', 'glip-t_a', 'glip-lite')
REFERENCE_VARIANTS = ('glip-t_a', 'glip-t_c')
#: --onnx-backends: BACKEND[:PRECISION] -> its column's name
ONNX_COLUMNS = {'onnxruntime': 'ONNX Runtime', 'openvino': 'OpenVINO',
                'openvino:bf16': 'OpenVINO bf16'}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('--parts', nargs='+', choices=PARTS, default=None,
                   help='default: a b c, and d on a GPU')
    p.add_argument('--variants', nargs='+', choices=VARIANTS,
                   default=['glip-t_c', 'glip-t_a'])
    p.add_argument('--ref-python', help='python of the reference venv '
                   '(.venv-ref/bin/python); without it mmglip only')
    p.add_argument('--checkpoint', action='append', default=[],
                   metavar='VARIANT=FILE', help='official-layout weights')
    p.add_argument('--onnx', action='append', default=[],
                   metavar='VARIANT=DIR', help='also time mmglip with '
                   'ONNX Runtime from this exported folder (parts a, b)')
    p.add_argument('--onnx-backends', nargs='+', default=['onnxruntime'],
                   choices=list(ONNX_COLUMNS), help='with --onnx: the '
                   'runtimes (and precisions) timed, one column pair each')
    p.add_argument('--bert-dir', help='BERT directory (config, vocab, '
                   'weights); default: a random one made in --work-dir')
    p.add_argument('--work-dir', default=osp.join(tempfile.gettempdir(),
                                                  'mmglip_benchmark'),
                   help='made checkpoints / BERT are kept here for reuse')
    p.add_argument('--images', default=osp.join(REPO, 'demo', 'data',
                                                'raccoon_mini'),
                   help='folder searched for .jpg images (default: the '
                   'Raccoon images that ship with the repository)')
    p.add_argument('--num-images', type=positive_int, default=4)
    p.add_argument('--size', nargs=2, type=positive_int, default=[800, 1333],
                   metavar=('SHORT', 'LONG'), help='test resize scale')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--reps', type=positive_int, default=3)
    p.add_argument('--lvis-warmup', type=int, default=1,
                   help='warm-up calls of part b')
    p.add_argument('--lvis-reps', type=positive_int, default=1,
                   help='repetitions of part b')
    p.add_argument('--lvis-names', type=positive_int, default=None,
                   help='use only the first N LVIS names (quick runs)')
    p.add_argument('--chunk-size', type=positive_int, default=40)
    p.add_argument('--train-batch', type=positive_int, default=2)
    p.add_argument('--checkpointing', choices=['off', 'on', 'both'],
                   default='both',
                   help='part c: gradient checkpointing off, on or both '
                   '(on alone fits full-size steps of both implementations '
                   'into less memory)')
    p.add_argument('--threads', type=int, default=0,
                   help='torch.set_num_threads (0: torch\'s default)')
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    p.add_argument('--out', help='also write the table to this file')
    add_debug_flag(p)
    return p.parse_args(argv)


# ------------------------------------------------------------- the driver
def machine(device: str) -> str:
    model = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    text = f'{model}, {os.cpu_count()} cores'
    if device.startswith('cuda'):
        import torch
        text += f'; GPU {torch.cuda.get_device_name(device)}'
    return text


def prepare(args, variants) -> dict:
    """Per variant its checkpoint (None for glip-lite) and the BERT dir."""
    given = {}
    for item in args.checkpoint:
        variant, sep, path = item.partition('=')
        if not sep or variant not in REFERENCE_VARIANTS:
            raise UserError(f'--checkpoint {item!r}: give VARIANT=FILE with '
                            f'VARIANT one of {REFERENCE_VARIANTS}.')
        if not osp.isfile(path):
            raise FileNotFoundError(f'--checkpoint {item!r}: no such file.')
        # a file that is no checkpoint is named now, not in two table cells
        read_checkpoint(path, mmap=True)
        given[variant] = path
    needs = [v for v in variants if v in REFERENCE_VARIANTS]
    if not needs:
        return dict(bert_dir=args.bert_dir, checkpoints={})
    os.makedirs(args.work_dir, exist_ok=True)
    bert = args.bert_dir
    if bert is None:
        bert = osp.join(args.work_dir, 'bert-base-uncased')
        if not osp.isfile(osp.join(bert, 'config.json')):
            _need_ref(args, 'a random BERT directory (or give --bert-dir)')
            _run([args.ref_python, osp.join(PARITY, 'make_bert_dir.py'),
                  bert, '--weights', 'random', '--seed', '0'])
    for variant in needs:
        if variant in given:
            continue
        path = osp.join(args.work_dir, f'{variant}_official.pth')
        if not osp.isfile(path):
            _need_ref(args, f'a {variant} checkpoint (or give --checkpoint)')
            print(f'making {path} ...', file=sys.stderr, flush=True)
            _run([args.ref_python,
                  osp.join(PARITY, 'make_official_checkpoint.py'),
                  '--variant', variant, '--bert-dir', bert, '--out', path,
                  '--seed', '0'])
        given[variant] = path
    return dict(bert_dir=bert, checkpoints=given)


def _need_ref(args, what):
    if not args.ref_python:
        raise UserError(f'Making {what} needs the reference venv: give '
                        '--ref-python .venv-ref/bin/python.')


def _run(cmd):
    env = dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    res = subprocess.run([str(c) for c in cmd], capture_output=True,
                         text=True, env=env, cwd=REPO)
    if res.returncode:
        raise UserError(f'{osp.basename(cmd[1])} failed: ' +
                        _last_line(res.stderr or res.stdout))
    return res


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else 'no output'


def run_one(args, impl: str, spec: dict):
    """One measurement in a fresh process: its result dict, or the error's
    last line (a string)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = osp.join(tmp, 'result.json')
        if impl == 'mmglip':
            cmd = [sys.executable, osp.join(osp.dirname(osp.abspath(
                __file__)), 'benchmark_worker.py'), '--spec',
                json.dumps(spec), '--result', result]
        else:
            cmd = [args.ref_python, osp.join(PARITY, 'bench_reference.py'),
                   '--spec', json.dumps(spec), '--result', result]
        env = dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
        res = subprocess.run(cmd, capture_output=True, text=True, env=env,
                             cwd=REPO)
        if res.returncode or not osp.isfile(result):
            return 'failed: ' + _last_line(res.stderr or res.stdout)
        with open(result) as f:
            return json.load(f)


def plan(args, parts, prep, images, coco, lvis):
    """(part, variant, setting, metric, spec) rows."""
    base = dict(bert_dir=prep['bert_dir'], images=images, size=args.size,
                warmup=args.warmup, reps=args.reps, threads=args.threads,
                device=args.device, dtype='fp32', batch=1, chunk_size=0,
                task='infer', names=coco)
    rows = []
    for v in args.variants:
        spec = dict(base, variant=v, checkpoint=prep['checkpoints'].get(v))
        if 'a' in parts:
            rows.append(('a', v, '80 names, s / image', 'time', spec))
        if 'b' in parts:
            rows.append(('b', v, f'{len(lvis)} names / {args.chunk_size} '
                         'per chunk, s / image', 'time',
                         dict(spec, names=lvis, chunk_size=args.chunk_size,
                              warmup=args.lvis_warmup, reps=args.lvis_reps)))
        if 'c' in parts:
            mem = 'cuda_peak_mb' if args.device.startswith('cuda') else \
                'max_rss_mb'
            for cp in dict(off=(False, ), on=(True, ),
                           both=(False, True))[args.checkpointing]:
                train = dict(spec, task='train', batch=args.train_batch,
                             with_cp=cp)
                name = f'train batch {args.train_batch}, checkpointing ' + (
                    'on' if cp else 'off')
                rows.append(('c', v, name + ', s / step', 'time', train))
                rows.append(('c', v, name + ', peak MB', mem, train))
        if 'd' in parts:
            for dtype in ('fp16', 'bf16'):
                rows.append(('d', v, f'{dtype} autocast, s / image', 'time',
                             dict(spec, dtype=dtype)))
            for batch in (1, 8):
                rows.append(('d', v, f'batch {batch}, images / s', 'ips',
                             dict(spec, batch=batch)))
    return rows


def value(result, metric, spec):
    if isinstance(result, str):
        return None, result
    if metric not in ('time', 'ips'):
        return result[metric], f'{result[metric]:.0f}'
    median = statistics.median(result['times'])
    if metric == 'ips':
        median = spec['batch'] / median
    return median, f'{median:.3g}'


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.ref_python and not osp.isfile(args.ref_python):
        raise FileNotFoundError(f'--ref-python {args.ref_python}: no such '
                                'file.')
    if args.warmup < 0 or args.lvis_warmup < 0 or args.threads < 0:
        raise UserError('--warmup, --lvis-warmup and --threads take 0 or '
                        'more.')
    import torch
    from mmglip.utils.cli import check_device
    check_device(args.device)
    parts = args.parts or (['a', 'b', 'c'] + (
        ['d'] if args.device.startswith('cuda') else []))
    if 'd' in parts and not args.device.startswith('cuda'):
        raise UserError('--parts d needs a GPU: give --device cuda.')
    if not osp.isdir(args.images):
        raise FileNotFoundError(f'--images {args.images}: no such folder.')
    images = sorted(
        osp.join(root, f) for root, _, files in os.walk(args.images)
        for f in files if f.lower().endswith(('.jpg', '.jpeg')))
    if not images:
        raise UserError(f'--images {args.images}: no .jpg images found.')
    images = images[:args.num_images]
    from mmdet.datasets import CocoDataset, LVISV1Dataset
    coco = list(CocoDataset.METAINFO['classes'])
    lvis = list(LVISV1Dataset.METAINFO['classes'])[:args.lvis_names]
    prep = prepare(args, args.variants)
    header = (f'warm-up {args.warmup} (part b: {args.lvis_warmup}), '
              f'repetitions {args.reps} (part b: {args.lvis_reps}), medians; '
              f'threads {args.threads or torch.get_num_threads()}; device '
              f'{args.device}; machine: {machine(args.device)}; '
              f'test scale {args.size[0]} x {args.size[1]}; '
              f'{len(images)} images from {args.images}; torch '
              f'{torch.__version__}; each measurement a fresh process')
    onnx = {}
    for item in args.onnx:
        variant, sep, path = item.partition('=')
        if not sep or variant not in VARIANTS or not osp.isdir(path):
            raise UserError(f'--onnx {item!r}: give VARIANT=DIR, VARIANT '
                            f'one of {VARIANTS} and DIR an exported folder.')
        onnx[variant] = path
    columns = list(dict.fromkeys(args.onnx_backends)) if onnx else []
    lines = [header, '',
             '| part | variant | setting | mmglip | reference | '
             'mmglip / reference |' + ''.join(
                 f' mmglip {ONNX_COLUMNS[b]} | {ONNX_COLUMNS[b]} / mmglip |'
                 for b in columns),
             '| --- | --- | --- | ---: | ---: | ---: |' +
             ' ---: | ---: |' * len(columns)]
    print(lines[0] + '\n', flush=True)
    cache = {}
    for part, variant, setting, metric, spec in plan(args, parts, prep,
                                                     images, coco, lvis):
        cells = []
        for impl in ('mmglip', 'reference', *columns):
            if impl == 'reference' and (not args.ref_python or
                                        variant not in REFERENCE_VARIANTS):
                cells.append((None, 'n/a'))
                continue
            run_spec = spec
            if impl in columns:
                if variant not in onnx or part not in ('a', 'b'):
                    cells.append((None, 'n/a'))
                    continue
                impl, run_spec = 'mmglip', dict(spec, onnx=onnx[variant],
                                                backend=impl)
            key = (impl, json.dumps(run_spec, sort_keys=True))
            if key not in cache:
                how = f' ({run_spec["backend"]})' if run_spec is not spec \
                    else ''
                print(f'  running {impl}{how} {part} {variant} {setting} '
                      '...', file=sys.stderr, flush=True)
                cache[key] = run_one(args, impl, run_spec)
            cells.append(value(cache[key], metric, run_spec))
        (ours, ours_text), (ref, ref_text) = cells[:2]
        ratio = f'{ours / ref:.2f}' if ours is not None and ref else '-'
        extra = ''.join(f' {text} | ' + (
            f'{t / ours:.2f}' if t is not None and ours else '-') + ' |'
            for t, text in cells[2:])
        lines.append(f'| {part} | {variant} | {setting} | {ours_text} | '
                     f'{ref_text} | {ratio} |{extra}')
        print(lines[-1], flush=True)
    if args.out:
        from mmglip.utils.io import atomic_write_text
        atomic_write_text(args.out, '\n'.join(lines) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
