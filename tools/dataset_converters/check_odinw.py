#!/usr/bin/env python
"""Check ODinW / COCO annotation files against their images and classes.

    python tools/dataset_converters/check_odinw.py ANN_JSON [ANN_JSON ...] \
        [--img-dir DIR] [--classes A B ...] [--check-sizes]
    python tools/dataset_converters/check_odinw.py --config CONFIG \
        [--check-sizes]

Lists every problem, naming file, image, annotation id and value: errors
(missing images, config classes absent from the file, malformed entries,
with --check-sizes a real image size that differs from the json) and
warnings (boxes that loading clips or drops). Exit status 1 if any error.
With --config, the train / val / test datasets of a dataset config (e.g.
configs/_base_/datasets/odinw/aquarium.py) are checked with its classes.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Check annotation files.')
    p.add_argument('ann_files', nargs='*', help='COCO json files')
    p.add_argument('--config', help='a dataset config to check instead')
    p.add_argument('--img-dir', help='image folder of the json files '
                   '(default: the folder of each json)')
    p.add_argument('--classes', nargs='+', help='class names to expect')
    p.add_argument('--check-sizes', action='store_true',
                   help='compare each image\'s real size with the json')
    p.add_argument('--max-items', type=int, default=20,
                   help='issues shown per kind (default 20)')
    args = p.parse_args(argv)
    if not args.ann_files and not args.config:
        p.error('give annotation files or --config')
    return args


def _targets(args):
    if not args.config:
        for ann in args.ann_files:
            yield ann, args.img_dir or osp.dirname(ann), args.classes
        return
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if not cfg.get(key):
            continue
        ds = cfg[key]['dataset']
        while 'ann_file' not in ds and 'dataset' in ds:
            ds = ds['dataset']
        root = ds.get('data_root', '') or ''
        prefix = ds.get('data_prefix', {})
        img = prefix.get('img', prefix.get('img_path', ''))
        classes = (ds.get('metainfo') or {}).get('classes')
        yield (osp.join(root, ds['ann_file']), osp.join(root, img),
               list(classes) if classes else None)


def main(argv=None):
    args = parse_args(argv)
    from mmglip.datasets.validation import load_and_validate
    n_err = 0
    seen = set()
    for ann, img_dir, classes in _targets(args):
        if ann in seen:
            continue
        seen.add(ann)
        report = load_and_validate(ann, img_dir, classes,
                                   check_image_sizes=args.check_sizes)
        n_err += len(report.errors)
        print(report.format(max_items=args.max_items))
    return 1 if n_err else 0


if __name__ == '__main__':
    sys.exit(main())
