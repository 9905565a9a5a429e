#!/usr/bin/env python
"""Write k-shot subsets of a COCO annotation file (ODinW few-shot protocol).

    python tools/dataset_converters/sample_fewshot.py ANN_JSON \
        --shots 1 3 5 10 --seeds 3 30 300 [--out-dir D] [--split train|val]

writes D/fewshot_{split}_shot{k}_seed{s}.json for each k and seed (default
D: the folder of ANN_JSON) with the official GLIP sampler: images walked in
seeded shuffled order, an image kept while any of its categories still has
quota, every kept image lowering the quota of each category it holds.
Existing files are reused when identical and never overwritten; a category
with fewer than k images is reported and the sample takes what exists.
Pass --val-ann VAL_JSON to write the k-shot val files too (the official
prepared splits make the validation set k-shot).
"""
import argparse
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Write k-shot COCO subsets.')
    p.add_argument('ann_file', help='the full annotation file (COCO json)')
    p.add_argument('--shots', type=int, nargs='+', default=[1, 3, 5, 10])
    p.add_argument('--seeds', type=int, nargs='+', default=[3, 30, 300])
    p.add_argument('--out-dir', default=None,
                   help='where to write (default: next to ANN_FILE)')
    p.add_argument('--split', default='train', choices=('train', 'val'),
                   help='name used in the file names (default train)')
    p.add_argument('--val-ann', default=None,
                   help='also write the k-shot val files from this json')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmglip.datasets.fewshot import (FewShotWarning, category_counts,
                                         load_coco, prepare_fewshot_split)
    jobs = [(args.ann_file, args.split)]
    if args.val_ann:
        jobs.append((args.val_ann, 'val'))
    for ann_file, split in jobs:
        try:
            coco = load_coco(ann_file)
        except (OSError, ValueError) as exc:
            print(f'error: cannot read {ann_file}: {exc}', file=sys.stderr)
            return 1
        names = {c['id']: c['name'] for c in coco['categories']}
        for k in args.shots:
            for s in args.seeds:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter('always', FewShotWarning)
                    try:
                        path = prepare_fewshot_split(ann_file, k, s,
                                                     args.out_dir, split,
                                                     coco=coco)
                    except (FileExistsError, ValueError) as exc:
                        print(f'error: {exc}', file=sys.stderr)
                        return 1
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
    sys.exit(main())
