#!/usr/bin/env python
r"""ODinW few-shot benchmark: tasks x shots x seeds x tuning modes -> results,
a markdown table and a plot.

    python tools/benchmark_fewshot.py MODEL [MODEL ...] [--baseline] \
        --data-root data/odinw [--tasks T ...] [--shots 0 1 3 5 10] \
        [--seeds 3 30 300] [--modes full] [--weights CKPT ...] --work-dir W

MODEL: a config or model-zoo name, or a closed-set baseline: dyhead-t
(GLIP-T (A)'s visual tower with a classifier of the task's classes; give it
GLIP-T (A) weights) or dyhead-lite (glip-lite's); --baseline adds the first
MODEL's. Several MODELs run the same tasks, shots, seeds and k-shot files
(W/splits/), each in W/<model>/ (resumable and fingerprinted on its own),
and one table, plot and CSV / JSON (with a model column) compare them,
baselines dashed in the plot; a closed-set model has no zero-shot ("-" in
the table) and full tuning only (--modes prompt or linear is refused):
    python tools/benchmark_fewshot.py glip-t_a dyhead-t \
        --weights glip_a_tiny_o365.pth --shots 1 3 5 10 --work-dir W
--tasks takes task sets (odinw13, the
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
    from mmglip.odinw_tasks import ODINW35_TASKS, ODINW_TASKS
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('models', nargs='+', metavar='MODEL',
                   help='model config files, model-zoo names (e.g. '
                   'glip-lite) or closed-set baselines (dyhead-t, '
                   'dyhead-lite: no language, full tuning only, no '
                   'zero-shot); several run the same tasks, shots, seeds '
                   'and k-shot files, each in WORK_DIR/<model>/, and one '
                   'table compares them')
    p.add_argument('--baseline', action='store_true',
                   help='add the closed-set baseline of the first MODEL '
                   '(its visual tower without language): dyhead-lite for '
                   'glip-lite, dyhead-t for GLIP-T')
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
    p.add_argument('--weights', nargs='+',
                   help='checkpoint every run starts from (official GLIP or '
                   'mmglip); one for all models or one per MODEL in order '
                   '(none: what the model config loads); dyhead-t takes '
                   'GLIP-T (A) weights (its visual tower)')
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
    from mmglip.benchmark.fewshot import model_label
    from mmglip.benchmark.plan import (BASELINE_OF, BenchmarkError,
                                       check_tasks, parse_shots, unique)
    shots = unique(parse_shots(args.shots), '--shots')
    args.seeds = unique(args.seeds, '--seeds')
    args.modes = unique(args.modes, '--modes')
    args.tasks = unique(args.tasks, '--tasks')
    if args.baseline:
        first = args.models[0]
        if first not in BASELINE_OF:
            raise BenchmarkError(
                f'--baseline: no closed-set baseline known for {first} '
                f'(known: {", ".join(sorted(BASELINE_OF))}); name it as a '
                'MODEL instead (dyhead-t, dyhead-lite or a config).')
        args.models.append(BASELINE_OF[first])
    args.models = unique(args.models, 'MODEL')
    labels = [model_label(m) for m in args.models]
    for label in labels:
        if labels.count(label) > 1:
            raise BenchmarkError(
                f'MODEL: two models would both be named {label!r} (their '
                'results go to WORK_DIR/<name>/); rename a config file.')
    for model in args.models:
        if model.endswith('.py'):
            check_file(model, 'MODEL')
    weights = args.weights or [None]
    if len(weights) not in (1, len(args.models)):
        raise BenchmarkError(
            f'--weights: {len(weights)} given for {len(args.models)} '
            'models; give one for all or one per MODEL (none for a model '
            'without).')
    args.weights = [None if w in (None, 'none') else w for w in
                    (weights * len(args.models) if len(weights) == 1
                     else weights)]
    for w in args.weights:
        if w:
            check_file(w, '--weights')
    check_file(args.schedule, '--schedule')
    check_tasks(args.tasks, args.data_root)
    check_writable_dir(args.work_dir, '--work-dir')
    return shots


def main(argv=None):
    args = parse_args(argv)
    shots = check_args(args)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from mmglip.benchmark.fewshot import FewShotBenchmark, model_label
    from mmglip.benchmark.plan import BenchmarkError, plan_runs, task_configs
    from mmglip.benchmark.report import write_reports
    from mmglip.benchmark.run_config import (base_run_config,
                                             check_task_files)
    from mmglip.utils.io import atomic_write_json
    configs = task_configs(args.tasks)
    multi = len(args.models) > 1
    check_layout(args.work_dir, multi)
    benches = []
    for model, weights in zip(args.models, args.weights):
        bench = FewShotBenchmark(
            model, osp.join(args.work_dir, model_label(model)) if multi
            else args.work_dir, args.data_root, configs, args.schedule,
            weights, args.cfg_options,
            keep_checkpoints=args.keep_checkpoints,
            splits_dir=osp.join(args.work_dir, 'splits'))
        warn_unknown_cfg_keys(base_run_config(bench, next(iter(configs)))[0],
                              args.cfg_options)
        model_shots = bench.check_modes(shots, args.modes)
        specs = plan_runs(list(configs), model_shots, args.seeds, args.modes)
        check_task_files(bench, [s for s in specs if bench.result(s) is None])
        benches.append((bench, specs))
    rank, world = 0, 1
    if args.launcher == 'pytorch':
        rank = int(os.environ.get('RANK', 0))
        world = int(os.environ.get('WORLD_SIZE', 1))
        local = int(os.environ.get('LOCAL_RANK', 0))
        import torch
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
    for bench, _ in benches:
        if rank == 0:
            bench.check_work_dir()
        else:  # rank 0 writes the record; wait until it covers our tasks
            while bench.check_work_dir(update=False):
                time.sleep(1)
    if multi and rank == 0:
        atomic_write_json(osp.join(args.work_dir, MODELS_FILE),
                          dict(models=[b.name for b, _ in benches]), indent=1)
    for bench, specs in benches:
        run_model(bench, specs, rank, world, args.work_dir,
                  f' of {bench.name}' if multi else '')
    if rank == 0:
        while world > 1 and any(bench.result(s) is None
                                for bench, specs in benches for s in specs):
            time.sleep(5)
        if multi:
            results = [r for bench, specs in benches
                       for r in bench.finished(specs)]
            if not results:
                raise BenchmarkError('No finished runs to report.')
            paths = write_reports(results, args.work_dir)
        else:
            paths = benches[0][0].report(benches[0][1])
        with open(paths['table.md']) as f:
            print('\n' + f.read())
        print('Reports: ' + ', '.join(paths.values()))


#: in a work dir of several models: their names (a single-model work dir
#: has benchmark.json at its top instead)
MODELS_FILE = 'models.json'


def check_layout(work_dir: str, multi: bool) -> None:
    """Refuse a work dir of the other layout: a single model's runs at its
    top (benchmark.json) for several models, or several models' folders
    (models.json) for one; nothing in it is changed."""
    from mmglip.benchmark.plan import BenchmarkError
    single = osp.isfile(osp.join(work_dir, 'benchmark.json'))
    several = osp.isfile(osp.join(work_dir, MODELS_FILE))
    if multi and single:
        raise BenchmarkError(
            f'--work-dir {work_dir} holds the benchmark of one model '
            '(benchmark.json); several models go to folders of their own: '
            'use another --work-dir (nothing there was changed).')
    if not multi and several:
        raise BenchmarkError(
            f'--work-dir {work_dir} holds a benchmark of several models '
            f'({MODELS_FILE}): give the same MODELs again, or use another '
            '--work-dir (nothing there was changed).')


def run_model(bench, specs, rank: int, world: int, work_dir: str,
              which: str) -> None:
    """The runs of one model on this worker, with progress."""
    from mmglip.benchmark.plan import shard
    from mmglip.benchmark.progress import BenchmarkProgress
    mine = shard(specs, rank, world)
    todo = [s for s in mine if bench.result(s) is None]
    for spec in mine:
        if spec not in todo:
            bench.tidy(spec)  # a kill may have cut its clean-up short
    progress = BenchmarkProgress(
        mine, todo, worker=f'w{rank}/{world}' if world > 1 else '')
    progress.say(f'{len(specs)} runs{which} planned, {len(mine)} on this '
                 f'worker ({rank}/{world}), {len(mine) - len(todo)} already '
                 f'done; each run\'s log: {bench.work_dir}/runs/<task>/'
                 '<mode>/shot<k>_seed<s>/<time>/<time>.log')
    for spec in list(todo):
        progress.start(spec)
        progress.finish(bench.run(spec, progress))


if __name__ == '__main__':
    sys.exit(run_tool(main))
