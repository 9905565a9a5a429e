#!/usr/bin/env python
"""ODinW few-shot benchmark: tasks x shots x seeds x tuning modes -> results,
a markdown table and a plot.

    python tools/benchmark_fewshot.py MODEL --data-root data/odinw \
        [--tasks T ...] [--shots 0 1 3 5 10] [--seeds 3 30 300] \
        [--modes full] [--weights CKPT] --work-dir W

MODEL: a config or model-zoo name. A task is an ODinW task name (its dataset
config is configs/_base_/datasets/odinw/<task>.py) or a dataset config file.
Resumable: finished runs are never redone, a killed run continues from its
last checkpoint. Spread over GPUs / machines with torchrun:
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


def parse_args(argv=None):
    from mmengine.config import DictAction

    from mmglip.benchmark.fewshot import MODES, ODINW_TASKS
    p = argparse.ArgumentParser(
        description='ODinW few-shot benchmark',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('model', help='config file or model-zoo name')
    p.add_argument('--data-root', default='data/odinw',
                   help='root of the ODinW tasks (official layout)')
    p.add_argument('--tasks', nargs='+', default=list(ODINW_TASKS))
    p.add_argument('--shots', nargs='+', default=['0', '1', '3', '5', '10'],
                   help='0 (zero-shot), 1, 3, 5, 10, all')
    p.add_argument('--seeds', nargs='+', type=int, default=[3, 30, 300])
    p.add_argument('--modes', nargs='+', default=['full'], choices=MODES)
    p.add_argument('--weights', help='checkpoint every run starts from')
    p.add_argument('--schedule', default=osp.join(
        REPO, 'configs/_base_/schedules/odinw_fewshot.py'),
        help='schedule config (default: the official ODinW schedule)')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='overrides for every run, key=value')
    p.add_argument('--launcher', choices=['none', 'pytorch'],
                   default='none')
    return p.parse_args(argv)


def task_configs(tasks):
    from mmglip.benchmark.fewshot import BenchmarkError
    from mmglip.datasets.odinw import ODINW13_TASKS, odinw_config_path
    out = {}
    for task in tasks:
        if task.endswith('.py'):
            if not osp.isfile(task):
                raise BenchmarkError(f'--tasks: no dataset config {task}')
            out[osp.splitext(osp.basename(task))[0]] = task
            continue
        if task not in ODINW13_TASKS:
            raise BenchmarkError(
                f'--tasks: unknown task {task!r}; give one of '
                f'{", ".join(ODINW13_TASKS)} or a dataset config file.')
        out[task] = odinw_config_path(task)
    return out


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from mmengine.utils import ProgressBar

    from mmglip.benchmark.fewshot import (FewShotBenchmark, parse_shots,
                                          plan_runs, shard)
    configs = task_configs(args.tasks)
    bench = FewShotBenchmark(args.model, args.work_dir, args.data_root,
                             configs, args.schedule, args.weights,
                             args.cfg_options)
    specs = plan_runs(list(configs), parse_shots(args.shots), args.seeds,
                      args.modes)
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
    else:
        while not osp.isfile(osp.join(args.work_dir, 'benchmark.json')):
            time.sleep(1)
        bench.check_work_dir()
    mine = shard(specs, rank, world)
    todo = [s for s in mine if bench.result(s) is None]
    print(f'[benchmark] {len(specs)} runs planned, {len(mine)} on this '
          f'worker ({rank}/{world}), {len(mine) - len(todo)} already done')
    bar = ProgressBar(len(todo)) if todo else None
    for spec in todo:
        res = bench.run(spec)
        print(f'\n[benchmark] {spec.name}: test AP {res["ap"]:.1f}')
        bar.update()
    if rank == 0:
        while world > 1 and any(bench.result(s) is None for s in specs):
            time.sleep(5)
        paths = bench.report(specs)
        with open(paths['table.md']) as f:
            print('\n' + f.read())
        print('Reports: ' + ', '.join(paths.values()))


if __name__ == '__main__':
    main()
