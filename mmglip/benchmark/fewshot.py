"""The ODinW few-shot benchmark: tasks x shots x seeds x tuning modes.

Each run lives in ``WORK/runs/<task>/<mode>/shot<k>_seed<s>/`` and is done
when its ``result.json`` exists: a finished run is never redone, a killed one
resumes from its last checkpoint. ``WORK/benchmark.json`` records what the
results were made with (model config, weights, data root, schedule, options);
a work dir made with another configuration is refused, not mixed.
"""
import hashlib
import json
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Union

from .report import write_reports

from mmglip.datasets.odinw import ODINW13_TASKS
from mmglip.utils.cli import UserError

ODINW_TASKS = tuple(ODINW13_TASKS)
MODES = ('full', 'prompt', 'linear')


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


def plan_runs(tasks: Sequence[str], shots: Sequence, seeds: Sequence[int],
              modes: Sequence[str]) -> List[RunSpec]:
    """All runs; zero-shot and full-data runs once per task / mode (no
    sampling, so no seeds), zero-shot under mode ``zero-shot``."""
    runs = []
    for task in tasks:
        for shot in shots:
            if shot == 0:
                runs.append(RunSpec(task, 0, 0, 'zero-shot'))
                continue
            for mode in modes:
                for seed in (seeds if shot != 'all' else seeds[:1]):
                    runs.append(RunSpec(task, shot, seed, mode))
    return runs


def shard(runs: List[RunSpec], rank: int, world_size: int) -> List[RunSpec]:
    """The runs of one worker (a GPU, or a process of a multi-machine job)."""
    return runs[rank::world_size]


def parse_shots(values: Sequence[str]) -> List[Union[int, str]]:
    out = []
    for v in values:
        if v == 'all':
            out.append('all')
        elif v.isdigit() and int(v) in (0, 1, 3, 5, 10):
            out.append(int(v))
        else:
            raise BenchmarkError(f'--shots {v!r}: use 0, 1, 3, 5, 10 or all.')
    return out


def file_digest(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


class FewShotBenchmark:
    """Plans, runs (resumably) and reports the benchmark.

    Args:
        model: config path or zoo name.
        work_dir: where runs, splits and reports go.
        data_root: root of the ODinW tasks (official layout).
        task_configs: task name -> dataset config path.
        schedule: schedule config path.
        weights: checkpoint to start every run from (official or mmglip).
        cfg_options: overrides applied to every run's config.
    """

    def __init__(self, model: str, work_dir: str, data_root: str,
                 task_configs: Dict[str, str], schedule: str,
                 weights: Optional[str] = None,
                 cfg_options: Optional[Dict] = None):
        from mmglip.apis import resolve_config
        self.model_config = osp.abspath(resolve_config(model))
        self.work_dir = work_dir
        self.data_root = data_root
        self.task_configs = task_configs
        self.schedule = osp.abspath(schedule)
        self.weights = weights
        self.cfg_options = cfg_options or {}
        if weights and not osp.isfile(weights):
            raise BenchmarkError(f'--weights {weights}: no such file.')

    # ----------------------------------------------------------- fingerprint
    def fingerprint(self) -> Dict:
        return dict(
            model_config=self.model_config,
            model_config_sha=file_digest(self.model_config),
            schedule_sha=file_digest(self.schedule),
            weights=osp.abspath(self.weights) if self.weights else None,
            data_root=osp.abspath(self.data_root),
            cfg_options={k: repr(v) for k, v in self.cfg_options.items()})

    def check_work_dir(self) -> None:
        """Create ``benchmark.json`` or refuse a work dir of another
        configuration."""
        os.makedirs(self.work_dir, exist_ok=True)
        path = osp.join(self.work_dir, 'benchmark.json')
        mine = self.fingerprint()
        if osp.isfile(path):
            with open(path) as f:
                theirs = json.load(f)
            diff = {k: (theirs.get(k), v) for k, v in mine.items()
                    if theirs.get(k) != v}
            if diff:
                lines = '\n'.join(f'  {k}: {a!r} (in {path}) vs {b!r} (now)'
                                  for k, (a, b) in diff.items())
                raise BenchmarkError(
                    f'{self.work_dir} holds results of another configuration:'
                    f'\n{lines}\nUse another --work-dir (nothing there was '
                    'changed).')
        else:
            tmp = path + '.part'
            with open(tmp, 'w') as f:
                json.dump(mine, f, indent=1)
            os.replace(tmp, path)

    # ------------------------------------------------------------------ runs
    def run_dir(self, spec: RunSpec) -> str:
        return osp.join(self.work_dir, 'runs', spec.name)

    def result(self, spec: RunSpec) -> Optional[Dict]:
        path = osp.join(self.run_dir(spec), 'result.json')
        if osp.isfile(path):
            with open(path) as f:
                return json.load(f)
        return None

    def run(self, spec: RunSpec) -> Dict:
        """Run one spec (or return its stored result)."""
        done = self.result(spec)
        if done is not None:
            return done
        from .run import run_one
        t0 = time.time()
        result = run_one(self, spec)
        result.update(asdict(spec), seconds=round(time.time() - t0, 1))
        path = osp.join(self.run_dir(spec), 'result.json')
        tmp = path + '.part'
        with open(tmp, 'w') as f:
            json.dump(result, f, indent=1)
        os.replace(tmp, path)
        return result

    def report(self, specs: List[RunSpec]) -> Dict[str, str]:
        """Write the reports over every finished run of ``specs``."""
        results = []
        for spec in specs:
            res = self.result(spec)
            if res is None:
                continue
            if spec.mode == 'zero-shot':
                # one evaluation, shown in every mode's table
                modes = sorted({s.mode for s in specs} - {'zero-shot'}) or \
                    ['zero-shot']
                results.extend(dict(res, mode=m) for m in modes)
            else:
                results.append(res)
        if not results:
            raise BenchmarkError('No finished runs to report.')
        return write_reports(results, self.work_dir)
