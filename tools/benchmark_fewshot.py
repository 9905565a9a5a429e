#!/usr/bin/env python
r"""ODinW few-shot benchmark: tasks x shots x seeds x tuning modes -> results,
a markdown table and a plot.

    python tools/benchmark_fewshot.py MODEL --data-root data/odinw \
        [--tasks T ...] [--shots 0 1 3 5 10] [--seeds 3 30 300] \
        [--modes full] [--weights CKPT] --work-dir W

MODEL: a config or model-zoo name. --tasks takes task sets (odinw13, the
default; odinw35), ODinW task names (their dataset configs are in
configs/_base_/datasets/odinw/, see its README.md) or dataset config files.

Every run follows the official protocol: the official commands' prompt
options (DATASETS.USE_CAPTION_PROMPT / USE_OVERRIDE_CATEGORY) are on, so each
task config's caption prompt and class renames are used (the ODinW-13 task
configs have none, as the official odinw_13 configs; the ODinW-35 ones have
the official ones). --shots 0 is zero-shot as published: each task is
evaluated on its official evaluation split (DATASETS.TEST: val, minival for
EgoHands, VehiclesOpenImages and the other tasks that have one), not on
test; the table gives the per-task AP and the average:
    python tools/benchmark_fewshot.py glip-t_c --weights glip-t_c --shots 0 \
        --data-root data/odinw --work-dir work_dirs/odinw13_zeroshot
    ... --tasks odinw35 --work-dir work_dirs/odinw35_zeroshot

The default schedule is the official one (up to 200 epochs per run, for
GPUs). On CPU use configs/_base_/schedules/odinw_fewshot_cpu.py (12 epochs).
A short check first, one task, one shot, one seed:
    python tools/benchmark_fewshot.py glip-lite \
        --tasks configs/_base_/datasets/raccoon_mini.py --shots 1 --seeds 3 \
        --schedule configs/_base_/schedules/odinw_fewshot_cpu.py \
        --work-dir work_dirs/fewshot_check

An ODinW task NAME is read from --data-root/<its root> (Raccoon:
data/odinw/Raccoon/Raccoon.v2-raw.coco/, Packages: data/odinw/Packages/Raw/;
every root in configs/_base_/datasets/odinw/README.md); tools/download.py
--dataset NAME puts the official data there, and
    python tools/dataset_converters/to_odinw.py SRC --format voc|yolo|\
        roboflow-coco --task NAME --data-root data/odinw
a dataset of your own. Every split the planned runs read is checked before
anything is recorded or run (one line names a missing file).

Progress: each run is "run i/N" with its epochs (a line per tenth, with the
latest val AP), its testing, its AP when it finishes and an estimate of the
time left for all runs; warnings stay on the console, mmengine's config
and environment dumps, its log lines and the COCO tables go to the run's
log file (W/runs/<task>/<mode>/shot<k>_seed<s>/<time>/<time>.log).
Reports: results.json (values as computed), results.csv (AP in % and
seconds with one decimal, as table.md), table.md, ap_vs_shots.png.

Resumable: finished runs are never redone, a killed run continues from its
newest readable checkpoint. W/benchmark.json records the weights, configs
and options by content; a work dir whose finished or checkpointed runs
were made with others is refused (a record under which nothing finished
nor wrote a checkpoint, e.g. after a call that failed early, is replaced,
with a note). A finished run keeps only its best checkpoint's weights
(weights_best.pth, named in its result.json) unless --keep-checkpoints.
Spread over GPUs / machines with torchrun:
    python -m torch.distributed.run --nproc_per_node 8 \
        tools/benchmark_fewshot.py ... --launcher pytorch
(each process takes every WORLD_SIZE-th run; rank 0 writes the reports).
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmglip.utils.cli import (HelpFormatter, add_debug_flag,  # noqa: E402
                              check_file, check_writable_dir, run_tool,
                              warn_unknown_cfg_keys)


def parse_args(argv=None):
    from mmengine.config import DictAction

    from mmglip.benchmark.plan import MODES
    from mmglip.zoo.odinw_data import ODINW35_TASKS, ODINW_TASKS
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('model', metavar='MODEL',
                   help='model config file or model-zoo name (e.g. '
                   'glip-lite)')
    p.add_argument('--data-root', default='data/odinw',
                   help='root of the ODinW tasks (official layout): the '
                   'data_root of the ODinW task configs\' datasets; task '
                   'NAME is read from DATA_ROOT/<its root> (e.g. DATA_ROOT/'
                   'Packages/Raw/; every root: configs/_base_/datasets/odinw/'
                   'README.md). tools/download.py --dataset NAME --data-root '
                   'DATA_ROOT fetches a task there, tools/dataset_converters/'
                   'to_odinw.py SRC --format F --task NAME --data-root '
                   'DATA_ROOT converts a dataset of your own there. A dataset '
                   'config that sets its own data_root keeps it')
    names = list(ODINW_TASKS) + [t for t in ODINW35_TASKS
                                 if t not in ODINW_TASKS]
    p.add_argument('--tasks', nargs='+', default=['odinw13'],
                   metavar='TASK',
                   help='task sets (odinw13: the 13 tasks of the GLIP paper; '
                   'odinw35: the 35 of ODinW-35), ODinW task names ('
                   + ', '.join(names) + '; an ODinW-13 name is its ODinW-13 '
                   'config) or dataset config files (.py)')
    p.add_argument('--shots', nargs='+', default=['0', '1', '3', '5', '10'],
                   help='shots per category: 0 (zero-shot as published: '
                   'the official evaluation split, no training), 1, 3, 5, '
                   '10, all (full data)')
    p.add_argument('--seeds', nargs='+', type=int, default=[3, 30, 300],
                   help='seeds of the k-shot samples (one run per seed; '
                   'zero-shot and full data run once)')
    p.add_argument('--modes', nargs='+', default=['full'], choices=MODES,
                   help='tuning modes')
    p.add_argument('--weights',
                   help='checkpoint every run starts from (official GLIP or '
                   'mmglip); none: what the model config loads')
    p.add_argument('--schedule', default=osp.join(
        REPO, 'configs/_base_/schedules/odinw_fewshot.py'),
        help='schedule config; the default is the official ODinW schedule, '
        'on CPU use configs/_base_/schedules/odinw_fewshot_cpu.py')
    p.add_argument('--work-dir', required=True,
                   help='folder of the runs, k-shot splits and reports (a '
                   'folder used before is resumed if its configuration is '
                   'the same)')
    p.add_argument('--keep-checkpoints', action='store_true',
                   help='keep every checkpoint of finished runs; without '
                   'it a finished run keeps only its best checkpoint\'s '
                   'weights')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   metavar='KEY=VALUE',
                   help='overrides for every run\'s config, key=value')
    p.add_argument('--launcher', choices=['none', 'pytorch'],
                   default='none',
                   help='pytorch: one process per GPU under torchrun')
    add_debug_flag(p)
    return p.parse_args(argv)


def check_args(args):
    """Check the arguments before any heavy import or model build; repeats
    in --tasks/--shots/--seeds/--modes are merged with a warning.

    Returns:
        the shots, as parsed.
    """
    from mmglip.benchmark.plan import check_tasks, parse_shots, unique
    shots = unique(parse_shots(args.shots), '--shots')
    args.seeds = unique(args.seeds, '--seeds')
    args.modes = unique(args.modes, '--modes')
    args.tasks = unique(args.tasks, '--tasks')
    if args.model.endswith('.py'):
        check_file(args.model, 'MODEL')
    if args.weights:
        check_file(args.weights, '--weights')
    check_file(args.schedule, '--schedule')
    check_tasks(args.tasks, args.data_root)
    check_writable_dir(args.work_dir, '--work-dir')
    return shots


def main(argv=None):
    args = parse_args(argv)
    shots = check_args(args)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from mmglip.benchmark.fewshot import FewShotBenchmark
    from mmglip.benchmark.plan import plan_runs, shard, task_configs
    from mmglip.benchmark.progress import BenchmarkProgress
    from mmglip.benchmark.run import base_run_config, check_task_files
    configs = task_configs(args.tasks)
    bench = FewShotBenchmark(args.model, args.work_dir, args.data_root,
                             configs, args.schedule, args.weights,
                             args.cfg_options,
                             keep_checkpoints=args.keep_checkpoints)
    warn_unknown_cfg_keys(base_run_config(bench, next(iter(configs)))[0],
                          args.cfg_options)
    specs = plan_runs(list(configs), shots, args.seeds, args.modes)
    check_task_files(bench, [s for s in specs if bench.result(s) is None])
    rank, world = 0, 1
    if args.launcher == 'pytorch':
        rank = int(os.environ.get('RANK', 0))
        world = int(os.environ.get('WORLD_SIZE', 1))
        local = int(os.environ.get('LOCAL_RANK', 0))
        import torch
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
    if rank == 0:
        bench.check_work_dir()
    else:  # rank 0 writes the record; wait until it covers our tasks
        while bench.check_work_dir(update=False):
            time.sleep(1)
    mine = shard(specs, rank, world)
    todo = [s for s in mine if bench.result(s) is None]
    for spec in mine:
        if spec not in todo:
            bench.tidy(spec)  # a kill may have cut its clean-up short
    progress = BenchmarkProgress(
        mine, todo, worker=f'w{rank}/{world}' if world > 1 else '')
    progress.say(f'{len(specs)} runs planned, {len(mine)} on this worker '
                 f'({rank}/{world}), {len(mine) - len(todo)} already done; '
                 f'each run\'s log: {args.work_dir}/runs/<task>/<mode>/'
                 'shot<k>_seed<s>/<time>/<time>.log')
    for spec in list(todo):
        progress.start(spec)
        progress.finish(bench.run(spec, progress))
    if rank == 0:
        while world > 1 and any(bench.result(s) is None for s in specs):
            time.sleep(5)
        paths = bench.report(specs)
        with open(paths['table.md']) as f:
            print('\n' + f.read())
        print('Reports: ' + ', '.join(paths.values()))


if __name__ == '__main__':
    sys.exit(run_tool(main))
