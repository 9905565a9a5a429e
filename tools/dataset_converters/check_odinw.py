#!/usr/bin/env python
"""Check ODinW / COCO annotation files against their images and classes.

    python tools/dataset_converters/check_odinw.py ANN_JSON [ANN_JSON ...] \\
        [--img-dir DIR] [--classes A B ...] [--no-decode]
    python tools/dataset_converters/check_odinw.py --config CONFIG \\
        [--no-decode]

Lists every problem, naming file, image, annotation id and value: errors
(missing images, images that cannot be decoded, a real image size that
differs from the json, config classes absent from the file, malformed
entries) and warnings (boxes that loading clips or drops). With --config,
the train / val / test datasets of a dataset config (e.g.
configs/_base_/datasets/odinw/aquarium.py) are checked with its classes.

Images are decoded in full by default, as training and evaluation will
decode them: reading only the header lets a truncated JPEG through, and it
then stops a run hours later. Decoding takes about 3 ms per 1024 px JPEG
(some 30 s for 10,000 images); --no-decode only checks that each image
exists, for a quick look at the annotations. (--check-sizes, the opt-in of
earlier versions, is the default now and still accepted.)

Exit status: 0 no error found (warnings may be listed); 1 errors found in
the data (all listed, --max-items per kind); 2 the input cannot be checked
(a file given does not exist, a bad option: one line "error: ...", --debug
shows the traceback).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_file, run_tool)


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer')
    if value < 0:
        raise argparse.ArgumentTypeError(f'{value} is negative')
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=HelpFormatter)
    p.add_argument('ann_files', nargs='*', metavar='ANN_JSON',
                   default=argparse.SUPPRESS,
                   help='COCO json files to check (or --config)')
    p.add_argument('--config', default=None,
                   help='a dataset config to check instead of ANN_JSON')
    p.add_argument('--img-dir', default=None,
                   help='image folder of the json files (default: '
                   '%(default)s, meaning the folder of each json)')
    p.add_argument('--classes', nargs='+', default=None,
                   help='class names to expect (default: %(default)s, '
                   'meaning no class check)')
    decode = p.add_mutually_exclusive_group()
    decode.add_argument('--no-decode', dest='decode', action='store_false',
                        help='do not decode the images (nor compare their '
                        'sizes with the json); only check that they exist '
                        '(decode: %(default)s)')
    decode.add_argument('--check-sizes', dest='decode', action='store_true',
                        help='decode each image and compare its size with '
                        'the json: the default, kept for older scripts '
                        '(decode: %(default)s)')
    p.set_defaults(decode=True)
    p.add_argument('--max-items', type=_non_negative_int, default=20,
                   help='issues shown per kind and file (0: all)')
    add_debug_flag(p)
    return p


def parse_args(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    args.ann_files = getattr(args, 'ann_files', [])
    if not args.ann_files and not args.config:
        p.error('give annotation files or --config')
    if args.ann_files and args.config:
        p.error('give annotation files or --config, not both')
    if args.config and (args.img_dir or args.classes):
        p.error('--img-dir and --classes apply to ANN_JSON; with --config '
                'they come from the config')
    return args


def check_args(args) -> None:
    """The files and folders given exist (before any heavy import)."""
    for ann in args.ann_files:
        check_file(ann, 'annotation file')
    if args.config:
        check_file(args.config, '--config')
    if args.img_dir and not osp.isdir(args.img_dir):
        raise UserError(f'--img-dir {args.img_dir}: no such folder.')


def _targets(args):
    if not args.config:
        for ann in args.ann_files:
            yield ann, args.img_dir or osp.dirname(ann), args.classes
        return
    from mmengine.config import Config
    try:
        cfg = Config.fromfile(args.config)
    except Exception as exc:  # noqa: BLE001 (a broken config is the input)
        raise UserError(f'--config {args.config}: cannot be loaded '
                        f'({type(exc).__name__}: {exc}).') from exc
    found = False
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if not cfg.get(key):
            continue
        ds = cfg[key]['dataset']
        while 'ann_file' not in ds and 'task' not in ds and 'dataset' in ds:
            ds = ds['dataset']
        root = ds.get('data_root', '') or ''
        classes = (ds.get('metainfo') or {}).get('classes')
        if ds.get('task') is not None and not ds.get('ann_file'):
            # an ODinW task: its files and classes, as ODinWDataset finds
            from mmglip.datasets.odinw import check_task, odinw_split_files
            task = check_task(dict(ds['task']))
            ann_file, img = odinw_split_files(task, ds.get('split'))
            classes = classes or task['classes']
        elif 'ann_file' in ds:
            ann_file = ds['ann_file']
            prefix = ds.get('data_prefix', {})
            img = prefix.get('img', prefix.get('img_path', ''))
        else:
            continue
        found = True
        yield (osp.join(root, ann_file), osp.join(root, img),
               list(classes) if classes else None)
    if not found:
        raise UserError(f'--config {args.config}: no train / val / test '
                        'dataloader with a dataset task or ann_file; give a '
                        'dataset config (e.g. configs/_base_/datasets/odinw/'
                        'aquarium.py).')


def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    from mmglip.datasets.validation import load_and_validate
    n_err = n_warn = n_files = 0
    seen = set()
    for ann, img_dir, classes in _targets(args):
        if ann in seen:
            continue
        seen.add(ann)
        report = load_and_validate(ann, img_dir, classes,
                                   check_image_sizes=args.decode)
        n_files += 1
        n_err += len(report.errors)
        n_warn += len(report.warnings)
        print(report.format(max_items=args.max_items))
    if n_files > 1:
        print(f'{n_files} files: {n_err} error(s), {n_warn} warning(s)')
    return 1 if n_err else 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
