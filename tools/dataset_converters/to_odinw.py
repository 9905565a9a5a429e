#!/usr/bin/env python
"""Convert a detection dataset to the ODinW layout.

    python tools/dataset_converters/to_odinw.py SRC DST \\
        --format voc|yolo|roboflow-coco

writes DST/{train,valid,test}/ with the images and
annotations_without_background.json (COCO). DST must not exist or be empty:
nothing is ever overwritten (the output is written to a temporary folder
beside DST and renamed at the end, so a conversion that fails leaves
nothing at DST).

* voc: Pascal VOC xml. Splits from --split-lists, else ImageSets/Main, else
  a seeded split (--split, default 0.75 0.15 0.10; --seed, default 0).
  Raccoon as published by its author, keeping the author's split:
    --split-lists train=data/train_labels.csv valid=data/test_labels.csv
  (paths relative to SRC or absolute; txt lists or csv with "filename").
* yolo: YOLO txt + data.yaml; the source's splits are kept (a flat
  images/ + labels/ folder gets a seeded split).
* roboflow-coco: Roboflow COCO export; the background super-category
  (id 0) is dropped and category ids re-mapped to 1..N.

Every image written is decoded in full first (about 3 ms per 1024 px JPEG):
a truncated JPEG, a file cut short or a text file named .jpg stops the
conversion with one error line naming each such source file.
Boxes the checks warn about (zero area, outside the image) are written as in
the source and listed; errors (missing or undecodable image, bad label
line) stop it.

Exit status: 0 converted; 2 an error in the input (one line "error: ...";
--debug shows the traceback).
"""
import argparse
import os
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
# the repository (mmglip) and this folder (the odinw_formats library)
sys.path.insert(0, osp.dirname(osp.dirname(HERE)))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_file, run_tool)

FORMATS = ('voc', 'yolo', 'roboflow-coco')
SPLITS = ('train', 'valid', 'val', 'test')


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=HelpFormatter)
    p.add_argument('src', help='source dataset folder')
    p.add_argument('dst', help='output folder (must not exist or be empty)')
    p.add_argument('--format', required=True, choices=FORMATS,
                   default=argparse.SUPPRESS, help='layout of SRC (required)')
    p.add_argument('--split', type=float, nargs='+', default=None,
                   metavar='RATIO',
                   help='train valid [test] ratios for data without splits '
                   '(default: %(default)s, meaning 0.75 0.15 0.10)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the random split')
    p.add_argument('--split-lists', nargs='+', default=None,
                   metavar='SPLIT=FILE',
                   help='voc: image lists per split (txt or csv; relative '
                   'to the working folder or to SRC)')
    p.add_argument('--classes', nargs='+', default=None,
                   help='voc: class names in label order (default: '
                   '%(default)s, meaning every object name found, sorted)')
    p.add_argument('--link', action='store_true',
                   help='hard-link the images instead of copying them '
                   '(same file system only; falls back to copying)')
    add_debug_flag(p)
    return p


def parse_args(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    if args.format != 'voc' and (args.split_lists or args.classes):
        p.error('--split-lists and --classes apply to --format voc only')
    if args.format == 'roboflow-coco' and args.split is not None:
        p.error('Roboflow exports have their own splits; --split does not '
                'apply')
    return args


def _check_split(ratios):
    if ratios is None:
        return
    shown = ' '.join(f'{r:g}' for r in ratios)
    if (len(ratios) not in (2, 3) or any(r < 0 for r in ratios)
            or abs(sum(ratios) - 1) > 1e-6 or ratios[0] <= 0):
        raise UserError(
            f'--split {shown}: give 2 or 3 non-negative ratios (train valid '
            '[test]) adding up to 1, train > 0, e.g. --split 0.75 0.15 0.10.')


def _split_lists(items, src):
    lists = {}
    for item in items or ():
        if '=' not in item:
            raise UserError(f'--split-lists {item!r}: write SPLIT=FILE, e.g. '
                            'train=train.txt')
        split, path = item.split('=', 1)
        if split not in SPLITS:
            raise UserError(f'--split-lists {item!r}: the split is one of '
                            f'{", ".join(SPLITS)}, not {split!r}.')
        if not osp.isabs(path) and not osp.exists(path):
            path = osp.join(src, path)
        lists[split] = check_file(path, f'--split-lists {split}:')
    return lists or None


def check_args(args) -> dict:
    """Check the arguments (no heavy import); the converter's keyword
    arguments. Raises UserError naming the argument."""
    if not osp.exists(args.src):
        raise UserError(f'SRC {args.src}: no such folder.')
    if not osp.isdir(args.src):
        raise UserError(f'SRC {args.src}: is a file; give the dataset '
                        'folder.')
    if osp.lexists(args.dst):
        if not osp.isdir(args.dst):
            raise UserError(f'DST {args.dst}: is a file; give a folder that '
                            'does not exist yet (or an empty one).')
        if os.listdir(args.dst):
            raise UserError(
                f'DST {args.dst}: exists and is not an empty folder; the '
                'converter never overwrites: remove it or choose another '
                'DST.')
    parent = osp.dirname(osp.abspath(args.dst))
    probe = parent
    while not osp.exists(probe):
        probe = osp.dirname(probe)
    if not osp.isdir(probe):
        raise UserError(f'DST {args.dst}: {probe} is a file, so the folder '
                        'cannot be made there.')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f'DST {args.dst}: cannot write in {probe} '
                        '(permissions); choose another DST.')
    _check_split(args.split)
    kwargs = dict(link=args.link)
    if args.format in ('voc', 'yolo'):
        kwargs.update(split=args.split, seed=args.seed)
    if args.format == 'voc':
        lists = _split_lists(args.split_lists, args.src)
        if lists and args.split is not None:
            raise UserError('give either --split or --split-lists, not both.')
        if lists:
            kwargs['split_lists'] = lists
        kwargs['classes'] = args.classes
    return kwargs


def main(argv=None):
    args = parse_args(argv)
    kwargs = check_args(args)
    from odinw_formats import convert
    try:
        result = convert(args.src, args.dst, args.format, **kwargs)
    except ValueError as exc:
        if isinstance(exc, UserError):
            raise
        # the converter's other ValueErrors are about the arguments too
        raise UserError(str(exc)) from exc
    print(result.summary())
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
