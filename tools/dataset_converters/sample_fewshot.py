#!/usr/bin/env python
"""Write k-shot subsets of a COCO annotation file (ODinW few-shot protocol).

    python tools/dataset_converters/sample_fewshot.py ANN_JSON \\
        --shots 1 3 5 10 --seeds 3 30 300 [--out-dir D] [--split train|val]

writes D/fewshot_{split}_shot{k}_seed{s}.json for each k and seed (default
D: the folder of ANN_JSON) with the official GLIP sampler: images walked in
seeded shuffled order, an image kept while any of its categories still has
quota, every kept image lowering the quota of each category it holds.
Existing files are reused when identical and never overwritten; a category
with fewer than k images is reported and the sample takes what exists.
Pass --val-ann VAL_JSON to write the k-shot val files too (the official
prepared splits make the validation set k-shot).

Exit status: 0 written (or reused); 2 an error in the input (a missing or
malformed json, an existing different file: one line "error: ...";
--debug shows the traceback).
"""
import argparse
import json
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_file, check_writable_dir,
                              positive_int, run_tool)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=HelpFormatter)
    p.add_argument('ann_file', metavar='ANN_JSON',
                   help='the full annotation file (COCO json)')
    p.add_argument('--shots', type=positive_int, nargs='+',
                   default=[1, 3, 5, 10], metavar='K',
                   help='numbers of images per category (k)')
    p.add_argument('--seeds', type=int, nargs='+', default=[3, 30, 300],
                   metavar='SEED', help='seeds of the sampler')
    p.add_argument('--out-dir', default=None,
                   help='where to write (default: %(default)s, meaning '
                   'next to ANN_JSON)')
    p.add_argument('--split', default='train', choices=('train', 'val'),
                   help='name used in the file names')
    p.add_argument('--val-ann', default=None, metavar='VAL_JSON',
                   help='also write the k-shot val files from this json')
    add_debug_flag(p)
    return p


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def check_args(args) -> None:
    """The inputs exist and the output folder is writable (before any heavy
    import)."""
    check_file(args.ann_file, 'annotation file')
    if args.val_ann:
        check_file(args.val_ann, '--val-ann')
    if args.out_dir is not None:
        check_writable_dir(args.out_dir, '--out-dir')


def _load(path: str) -> dict:
    try:
        with open(path, encoding='utf-8') as f:
            coco = json.load(f)
    except ValueError as exc:  # json and unicode errors
        raise UserError(f'{path}: not a json file ({exc}).') from exc
    if not isinstance(coco, dict) or not all(
            isinstance(coco.get(k), list)
            for k in ('images', 'annotations', 'categories')):
        raise UserError(f'{path}: not a COCO detection file (it needs the '
                        'lists "images", "annotations" and "categories").')
    return coco


def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    from mmglip.datasets.kshot import (FewShotWarning, category_counts,
                                       load_coco, prepare_fewshot_split)
    jobs = [(args.ann_file, args.split)]
    if args.val_ann:
        jobs.append((args.val_ann, 'val'))
    for ann_file, split in jobs:
        coco = _load(ann_file)
        names = {c['id']: c['name'] for c in coco['categories']}
        for k in args.shots:
            for s in args.seeds:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter('always', FewShotWarning)
                    try:
                        path = prepare_fewshot_split(ann_file, k, s,
                                                     args.out_dir, split,
                                                     coco=coco)
                    except ValueError as exc:
                        raise UserError(f'{ann_file}: {exc}') from exc
                sub = load_coco(path)
                n_img, n_box = category_counts(sub)
                per_cat = ', '.join(
                    f'{names[c]} {n_img.get(c, 0)}/{n_box.get(c, 0)}'
                    for c in names)
                print(f'{path}: {len(sub["images"])} images '
                      f'(images/instances per class: {per_cat})')
                if s == args.seeds[0]:  # a shortage is the same for all
                    for w in caught:
                        if issubclass(w.category, FewShotWarning):
                            print(f'warning: {w.message}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
