#!/usr/bin/env python
"""Convert a detection dataset to the ODinW layout.

    python tools/dataset_converters/to_odinw.py SRC DST \
        --format voc|yolo|roboflow-coco

writes DST/{train,valid,test}/ with the images and
annotations_without_background.json (COCO). DST must not exist or be empty:
nothing is ever overwritten (the output is written to a temporary folder
beside DST and renamed at the end).

* voc: Pascal VOC xml. Splits from --split-lists, else ImageSets/Main, else
  a seeded split (--split, default 0.75 0.15 0.10; --seed, default 0).
  Raccoon as published by its author, keeping the author's split:
    --split-lists train=data/train_labels.csv valid=data/test_labels.csv
  (paths relative to SRC or absolute; txt lists or csv with "filename").
* yolo: YOLO txt + data.yaml; the source's splits are kept (a flat
  images/ + labels/ folder gets a seeded split).
* roboflow-coco: Roboflow COCO export; the background super-category
  (id 0) is dropped and category ids re-mapped to 1..N.

Boxes the checks warn about (zero area, outside the image) are written as in
the source and listed; errors (missing image, bad label line) stop it.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Convert VOC / YOLO / Roboflow COCO to the ODinW layout.')
    p.add_argument('src', help='source dataset folder')
    p.add_argument('dst', help='output folder (must not exist or be empty)')
    p.add_argument('--format', required=True,
                   choices=('voc', 'yolo', 'roboflow-coco'))
    p.add_argument('--split', type=float, nargs='+', default=None,
                   metavar='RATIO',
                   help='train valid [test] ratios for data without splits '
                   '(default 0.75 0.15 0.10)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the random split (default 0)')
    p.add_argument('--split-lists', nargs='+', default=None,
                   metavar='SPLIT=FILE',
                   help='voc: image lists per split (txt or csv)')
    p.add_argument('--classes', nargs='+', default=None,
                   help='voc: class names in label order (default: every '
                   'object name found, sorted)')
    p.add_argument('--link', action='store_true',
                   help='hard-link the images instead of copying them '
                   '(same file system only; falls back to copying)')
    args = p.parse_args(argv)
    if args.format != 'voc' and (args.split_lists or args.classes):
        p.error('--split-lists and --classes apply to --format voc only')
    if args.format == 'roboflow-coco' and args.split is not None:
        p.error('Roboflow exports have their own splits; --split does not '
                'apply')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmglip.datasets.converters import ConversionError, convert
    kwargs = dict(link=args.link)
    if args.format in ('voc', 'yolo'):
        kwargs.update(split=args.split, seed=args.seed)
    if args.format == 'voc':
        if args.split_lists:
            lists = {}
            for item in args.split_lists:
                if '=' not in item:
                    raise SystemExit(f'--split-lists {item!r}: write '
                                     'SPLIT=FILE, e.g. train=train.txt')
                split, path = item.split('=', 1)
                if not osp.isabs(path) and not osp.exists(path):
                    path = osp.join(args.src, path)
                lists[split] = path
            kwargs['split_lists'] = lists
        kwargs['classes'] = args.classes
    try:
        result = convert(args.src, args.dst, args.format, **kwargs)
    except (ConversionError, FileExistsError, FileNotFoundError,
            ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    print(result.summary())
    return 0


if __name__ == '__main__':
    sys.exit(main())
