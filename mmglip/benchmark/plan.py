"""The benchmark's plan: which runs, on which worker, from which task
configs; argument checks (light: no torch or mmdet import)."""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple, Union

from mmglip.errors import UserError, did_you_mean, warn
from mmglip.odinw_tasks import ODINW35_TASKS, ODINW_TASK_SETS, ODINW_TASKS

MODES = ('full', 'prompt', 'linear')
#: detector types without language: no zero-shot, these modes only
CLOSED_SET_TYPES = ('DyHeadATSS', )
CLOSED_SET_MODES = ('full', )
#: the closed-set baselines by name -> config under configs/
BASELINE_CONFIGS = {
    'dyhead-t': 'dyhead/dyhead-t_finetune_coco.py',
    'dyhead-lite': 'dyhead/dyhead-lite_raccoon-mini.py',
}
#: ``--baseline``: a GLIP model -> its closed-set baseline (the same
#: visual tower)
BASELINE_OF = {
    'glip-lite': 'dyhead-lite',
    **{name: 'dyhead-t'
       for name in ('glip-t_a', 'glip-t_b', 'glip-t_c', 'glip-t')},
}


class BenchmarkError(UserError, RuntimeError):
    """Bad benchmark input; the message says what and how to fix it."""


@dataclass(frozen=True)
class RunSpec:
    task: str
    shot: Union[int, str]  # 0 (zero-shot), 1, 3, 5, 10 or 'all'
    seed: int
    mode: str

    @property
    def name(self) -> str:
        return f'{self.task}/{self.mode}/shot{self.shot}_seed{self.seed}'


def model_config_path(model: str) -> str:
    """A closed-set baseline's name (:data:`BASELINE_CONFIGS`) -> its
    config file; anything else as given (a config or zoo name)."""
    if model in BASELINE_CONFIGS:
        from mmglip.utils.io import package_data_path
        return str(package_data_path('configs', BASELINE_CONFIGS[model]))
    return model


def unique(values: Sequence, option: str) -> List:
    """``values`` without repeats, in first-occurrence order; one
    ``warning:`` line on stderr names the repeated values of ``option``."""
    out, repeated = [], []
    for value in values:
        if value not in out:
            out.append(value)
        elif value not in repeated:
            repeated.append(value)
    if repeated:
        warn(f'{option}: {", ".join(str(v) for v in repeated)} given more '
             'than once; each is used once.')
    return out


def plan_runs(tasks: Sequence[str], shots: Sequence, seeds: Sequence[int],
              modes: Sequence[str]) -> List[RunSpec]:
    """All runs, each once, in order; zero-shot and full-data runs once per
    task / mode (no sampling, so no seeds), zero-shot under mode
    ``zero-shot``. Repeats in the arguments plan nothing twice."""
    runs, seen = [], set()

    def add(spec):
        if spec not in seen:
            seen.add(spec)
            runs.append(spec)

    for task in tasks:
        for shot in shots:
            if shot == 0:
                add(RunSpec(task, 0, 0, 'zero-shot'))
                continue
            for mode in modes:
                for seed in (seeds if shot != 'all' else seeds[:1]):
                    add(RunSpec(task, shot, seed, mode))
    return runs


def shard(runs: List[RunSpec], rank: int, world_size: int) -> List[RunSpec]:
    """The runs of one worker (a GPU, or a process of a multi-machine job)."""
    return runs[rank::world_size]


def parse_shots(values: Sequence[str]) -> List[Union[int, str]]:
    """``--shots`` values -> 0, 1, 3, 5, 10 or ``'all'`` (repeats kept)."""
    out = []
    for v in values:
        if v == 'all':
            out.append('all')
        elif v.isdigit() and int(v) in (0, 1, 3, 5, 10):
            out.append(int(v))
        else:
            raise BenchmarkError(f'--shots {v!r}: use 0, 1, 3, 5, 10 or all.')
    return out


def odinw_task_stems(task: str) -> List[Tuple[str, str]]:
    """An ODinW ``--tasks`` value -> [(task name, config stem)]: a task set
    (``odinw13``, ``odinw35``, any case) gives its tasks, a task name its
    config (an ODinW-13 name its ODinW-13 config, a name only ODinW-35 has
    its ODinW-35 config); anything else gives []."""
    found = ODINW_TASK_SETS.get(task.lower().replace('-', '').replace(
        '_', ''))
    if found is not None:
        return list(found.items())
    for table in (ODINW_TASKS, ODINW35_TASKS):
        if task in table:
            return [(task, table[task])]
    return []


def check_tasks(tasks: Sequence[str], data_root: str) -> None:
    """Check ``--tasks`` (ODinW task sets or names, or dataset config files)
    and, if ODinW tasks are used, ``--data-root``; no heavy imports."""
    names = list(ODINW_TASK_SETS) + list(ODINW_TASKS) + [
        t for t in ODINW35_TASKS if t not in ODINW_TASKS]
    for task in tasks:
        if task.endswith('.py'):
            if not osp.isfile(task):
                raise BenchmarkError(f'--tasks {task}: no such dataset '
                                     'config file.')
        elif not odinw_task_stems(task):
            raise BenchmarkError(
                f'--tasks: unknown task {task!r}'
                f'{did_you_mean(task, names)}; give odinw13, odinw35, '
                'ODinW task names (python tools/benchmark_fewshot.py --help '
                'lists them) or dataset config files (.py).')
    odinw = [t for t in tasks if not t.endswith('.py')]
    if odinw and not osp.isdir(data_root):
        raise BenchmarkError(
            f'--data-root {data_root}: no such folder (the ODinW tasks '
            f'{", ".join(odinw)} are read from it); give the root of the '
            'ODinW tasks (official layout).')


def odinw_stem_path(stem: str) -> str:
    """Path of the ODinW dataset config ``stem`` (``raccoon``,
    ``odinw35/bccd``) in the source tree's or installed package's
    ``configs/_base_/datasets/odinw/``."""
    from mmglip.utils.io import package_data_path
    return osp.join(
        str(package_data_path('configs', '_base_', 'datasets', 'odinw')),
        stem + '.py')


def task_configs(tasks: Sequence[str]) -> Dict[str, str]:
    """Task name -> dataset config path. An ODinW task is named as given (a
    task set by its tasks' names), a dataset config file by its file name
    without ``.py``. Two configs of the same name (``odinw13`` and
    ``odinw35`` both have Aquarium) would share their runs and are refused;
    the same file given twice is used once."""
    out = {}
    for task in tasks:
        if task.endswith('.py'):
            pairs = [(osp.splitext(osp.basename(task))[0], task)]
        else:
            pairs = [(name, odinw_stem_path(stem))
                     for name, stem in odinw_task_stems(task)]
        for name, path in pairs:
            if name in out:
                if osp.realpath(out[name]) == osp.realpath(path):
                    warn(f'--tasks: {name} given more than once; used once.')
                    continue
                raise BenchmarkError(
                    f'--tasks: {out[name]} and {path} would both be task '
                    f'{name!r} (runs are named by the task); give them in '
                    'separate calls with separate --work-dir.')
            out[name] = path
    return out
