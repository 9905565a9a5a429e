#!/usr/bin/env python
"""Convert a detection dataset to the ODinW layout.

    python tools/dataset_converters/to_odinw.py SRC DST \\
        --format voc|yolo|roboflow-coco
    python tools/dataset_converters/to_odinw.py SRC --task NAME \\
        [--data-root data/odinw] --format voc|yolo|roboflow-coco

writes DST/{train,valid,test}/ with the images and
annotations_without_background.json (COCO). DST must not exist or be empty:
nothing is ever overwritten (the output is written to a temporary folder
beside DST and renamed at the end, so a conversion that fails leaves
nothing at DST).

Where the benchmark and the ODinW configs look: an ODinW task NAME
(tools/benchmark_fewshot.py --tasks NAME --data-root ROOT) is read from
ROOT/<the task's root>, e.g. data/odinw/Raccoon/Raccoon.v2-raw.coco/ for
Raccoon, data/odinw/Packages/Raw/ for Packages (every task's root:
configs/_base_/datasets/odinw/README.md). --task NAME --data-root ROOT
(instead of DST) writes there, with the split folders the task reads
(valid/ is mini_val/ for EgoHands and the other tasks with a minival), and
refuses a source whose classes are not the task's, in its order (VOC: the
task's classes are the default --classes). A converted dataset of your own
(DST) is read through a dataset config of its own (data_root and
task.root pointing at DST, as configs/_base_/datasets/raccoon_mini.py),
given to the benchmark as --tasks CONFIG.py. The last line printed says
which.

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
from typing import List

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
    p.add_argument('dst', nargs='?', default=None,
                   help='output folder (must not exist or be empty); '
                   'or give --task instead')
    p.add_argument('--task', metavar='NAME',
                   help='write where ODinW task NAME is read from '
                   '(tools/benchmark_fewshot.py --tasks NAME --data-root '
                   'ROOT): ROOT/<the task\'s root>, with the task\'s split '
                   'folders and classes; instead of DST')
    p.add_argument('--data-root', default=None, metavar='ROOT',
                   help='with --task: the root of the ODinW tasks (default: '
                   'data/odinw, as tools/benchmark_fewshot.py)')
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
    # DST is optional (--task): intermixed, so SRC --format F DST still works
    args = p.parse_intermixed_args(argv)
    if (args.dst is None) == (args.task is None):
        p.error('give the output folder DST or --task NAME (the place '
                'ODinW task NAME is read from), one of them')
    if args.data_root is not None and args.task is None:
        p.error('--data-root goes with --task (DST names the output '
                'folder itself)')
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


def task_layout(name: str, data_root: str):
    """ODinW task ``name`` -> (the folder it is read from under
    ``data_root``, a ``TaskLayout``: the folder of each converted split and
    the task's classes, the folder of each split role the task reads:
    ``{'train': 'train', 'val': 'mini_val', 'test': 'test'}``). Raises
    UserError for an unknown name, a task set and a one-folder task
    (pistols)."""
    from mmengine.config import Config
    from odinw_formats import TaskLayout

    from mmglip.benchmark.plan import odinw_stem_path, odinw_task_stems
    from mmglip.utils.cli import did_you_mean
    from mmglip.odinw_tasks import ODINW35_TASKS, ODINW_TASKS
    stems = odinw_task_stems(name)
    if not stems:
        names = list(ODINW_TASKS) + [t for t in ODINW35_TASKS
                                     if t not in ODINW_TASKS]
        raise UserError(
            f'--task {name!r}: no such ODinW task{did_you_mean(name, names)}'
            '; the names are those of tools/benchmark_fewshot.py --tasks '
            '(its --help lists them). For a dataset of your own give DST.')
    if len(stems) > 1:
        raise UserError(f'--task {name}: is a set of {len(stems)} tasks; '
                        'give one task name.')
    task_name, stem = stems[0]
    task = Config.fromfile(odinw_stem_path(stem)).task
    if task.get('one_folder'):
        raise UserError(
            f'--task {task_name}: this task keeps all its images in one '
            f'folder ({task.root}, <split>_annotations_without_background'
            '.json beside them); the converter writes one folder per split,'
            ' so give DST and place the files by hand.')
    val = task.get('val_split', 'valid')
    test = task.get('test_split', 'test')
    folders = dict(train='train', valid=val,
                   test=test if test != val else 'test')
    classes = list(task.classes) if task.get('classes') else None
    return (osp.join(data_root, task.root.rstrip('/')),
            TaskLayout(task_name, folders, classes),
            dict(train='train', val=val, test=test))


def check_args(args) -> dict:
    """Check the arguments (no heavy import); the converter's keyword
    arguments. Raises UserError naming the argument. With ``--task``,
    ``args.dst`` is set to the task's folder under ``--data-root``,
    ``args.layout`` and ``args.reads`` as :func:`task_layout` gives them
    (else None)."""
    if not osp.exists(args.src):
        raise UserError(f'SRC {args.src}: no such folder.')
    if not osp.isdir(args.src):
        raise UserError(f'SRC {args.src}: is a file; give the dataset '
                        'folder.')
    args.layout = args.reads = None
    what = 'DST'
    if args.task is not None:
        args.data_root = args.data_root or 'data/odinw'
        args.dst, args.layout, args.reads = task_layout(args.task,
                                                        args.data_root)
        what = f'--task {args.task} --data-root {args.data_root}:'
    if osp.lexists(args.dst):
        if not osp.isdir(args.dst):
            raise UserError(f'{what} {args.dst}: is a file; give a folder '
                            'that does not exist yet (or an empty one).')
        if os.listdir(args.dst):
            again = ('remove it or choose another DST' if args.task is None
                     else 'the task is there already: remove it or give '
                     'another --data-root')
            raise UserError(
                f'{what} {args.dst}: exists and is not an empty folder; the '
                f'converter never overwrites: {again}.')
    parent = osp.dirname(osp.abspath(args.dst))
    probe = parent
    while not osp.exists(probe):
        probe = osp.dirname(probe)
    if not osp.isdir(probe):
        raise UserError(f'{what} {args.dst}: {probe} is a file, so the '
                        'folder cannot be made there.')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f'{what} {args.dst}: cannot write in {probe} '
                        '(permissions); choose another '
                        f'{"DST" if args.task is None else "--data-root"}.')
    _check_split(args.split)
    kwargs = dict(link=args.link)
    if args.layout is not None:
        kwargs['layout'] = args.layout
    if args.format in ('voc', 'yolo'):
        kwargs.update(split=args.split, seed=args.seed)
    if args.format == 'voc':
        lists = _split_lists(args.split_lists, args.src)
        if lists and args.split is not None:
            raise UserError('give either --split or --split-lists, not both.')
        if lists:
            kwargs['split_lists'] = lists
        kwargs['classes'] = args.classes
        wanted = args.layout.classes if args.layout is not None else None
        if wanted and args.classes and list(args.classes) != wanted:
            raise UserError(
                f'--classes {" ".join(args.classes)}: ODinW task '
                f'{args.layout.name} has the classes {" ".join(wanted)} (in '
                'this order); leave --classes out to use them, or give DST '
                'for a dataset of your own.')
    return kwargs


def where_to_use(args, result) -> List[str]:
    """The last lines: how the converted data is read (with --task: by the
    benchmark's --tasks NAME, and any split folder the task reads that this
    conversion did not write; without: where an ODinW task would have to
    be, or a dataset config of its own)."""
    if args.layout is None:
        return [
            'next: tools/benchmark_fewshot.py --tasks NAME --data-root ROOT'
            ' reads ODinW task NAME from ROOT/<its root> (e.g. data/odinw/'
            'Raccoon/Raccoon.v2-raw.coco/; all roots: configs/_base_/'
            'datasets/odinw/README.md): --task NAME --data-root ROOT '
            'instead of DST converts straight there; a dataset of your own '
            'is read through a dataset config (data_root / task.root '
            f'pointing at {args.dst}, as configs/_base_/'
            'datasets/raccoon_mini.py) given as --tasks CONFIG.py.']
    layout = args.layout
    lines = []
    for role, folder in args.reads.items():
        if folder not in result.splits:
            lines.append(
                f'warning: ODinW task {layout.name} reads its {role} split '
                f'from {osp.join(args.dst, folder)}/, which this conversion '
                f'did not write (the source has no {role} split), so the '
                'benchmark\'s runs that read it fail (zero-shot: val; '
                'k-shot: train, val and test); add that split to the source '
                '(or, for a source without splits, give --split with 3 '
                'ratios).')
    lines.append(
        f'placed as ODinW task {layout.name}: python tools/benchmark_'
        f'fewshot.py MODEL --tasks {layout.name} --data-root '
        f'{args.data_root} reads it.')
    return lines


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
    print('\n'.join(where_to_use(args, result)))
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
