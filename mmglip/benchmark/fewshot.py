"""The ODinW few-shot benchmark: tasks x shots x seeds x tuning modes.

Each run lives in ``WORK/runs/<task>/<mode>/shot<k>_seed<s>/`` and is done
when its ``result.json`` exists: a finished run is never redone, a killed one
resumes from its newest readable checkpoint. A finished run keeps its
results and the weights of its best checkpoint (``weights_best.pth``:
state_dict + meta, named in ``result.json``); its other checkpoints are
deleted once ``result.json`` is written, unless ``--keep-checkpoints``.

``WORK/benchmark.json`` records what the results were made with, by content:
the SHA-256 of the ``--weights`` file, of the resolved model config and
schedule (``_base_`` files included), the ``--cfg-options``, and per task
the SHA-256 of its resolved dataset config (with ``--data-root`` applied for
ODinW tasks; a change to the dataset configs themselves therefore changes
it too, and their work dirs are refused as "another dataset config"). A
later call may run a subset of the tasks or add new ones
(they are added to the record); a call whose weights, model config,
schedule or options differ, or that gives a recorded task another dataset
config, is refused (nothing in the work dir is changed), never mixed.
Work dirs of the older record format (no per-task digests, weights by path
only) are refused too: their results cannot be checked, so they are not
migrated.

Only work is protected: a record whose runs hold nothing (no
``result.json``, no checkpoint, e.g. after a call that failed before its
first checkpoint) is replaced by this call's, with a ``note:`` line; for a
differing task it is enough that the task's runs hold nothing, for
differing weights, model config, schedule or options (or an older record)
no run of the work dir may hold anything.

Light to import (no torch or mmdet at module level): the command-line tool
checks its arguments with it before the heavy imports.
"""
import json
import os
import os.path as osp
import sys
import time
from dataclasses import asdict
from typing import Dict, List, Optional

from .plan import (CLOSED_SET_MODES, CLOSED_SET_TYPES, MODES,
                   BenchmarkError, RunSpec, model_config_path, plan_runs,
                   shard)
from .record import (RECORD_FORMAT, config_digest, global_differences,
                     task_difference)
from .report import write_reports

from mmglip.utils.checkpoints import remove_checkpoints
from mmglip.utils.io import atomic_write_json
from mmglip.zoo.hub import sha256_file


def _type_name(cfg) -> str:
    return str(cfg.get('type', '')).split('.')[-1]


def model_label(model: str) -> str:
    """How results name a model: its zoo / baseline name as given, a
    config file by its file name without ``.py``."""
    return osp.splitext(osp.basename(model))[0] if model.endswith('.py') \
        else model


class FewShotBenchmark:
    """Plans, runs (resumably) and reports the benchmark of one model.

    Args:
        model: config path, zoo name or a closed-set baseline's name
            (``plan.BASELINE_CONFIGS``); closed-set models
            (:data:`CLOSED_SET_TYPES`) have no zero-shot and full tuning
            only (:data:`CLOSED_SET_MODES`).
        work_dir: where runs, splits and reports go.
        data_root: root of the ODinW tasks (official layout).
        task_configs: task name -> dataset config path.
        schedule: schedule config path.
        weights: checkpoint to start every run from (official or mmglip).
        cfg_options: overrides applied to every run's config.
        keep_checkpoints: keep every checkpoint of finished runs (by
            default only the best one's weights are kept).
        splits_dir: where the k-shot files go (``work_dir/splits``; the
            models of one call share one folder).
    """

    def __init__(self, model: str, work_dir: str, data_root: str,
                 task_configs: Dict[str, str], schedule: str,
                 weights: Optional[str] = None,
                 cfg_options: Optional[Dict] = None,
                 keep_checkpoints: bool = False,
                 splits_dir: Optional[str] = None):
        from mmengine.config import Config

        from mmglip.apis import resolve_config
        self.name = model_label(model)
        self.model_config = osp.abspath(
            resolve_config(model_config_path(model)))
        self.closed_set = _type_name(
            Config.fromfile(self.model_config).model) in CLOSED_SET_TYPES
        self.work_dir = work_dir
        # k-shot files: shared by the models of one call
        self.splits_dir = splits_dir or osp.join(work_dir, 'splits')
        self.data_root = data_root
        self.task_configs = task_configs
        self.schedule = osp.abspath(schedule)
        self.weights = weights
        self.cfg_options = cfg_options or {}
        self.keep_checkpoints = keep_checkpoints
        if weights and not osp.isfile(weights):
            raise BenchmarkError(f'--weights {weights}: no such file.')
        self._fingerprint = None

    # ----------------------------------------------------------- fingerprint
    @property
    def record_path(self) -> str:
        return osp.join(self.work_dir, 'benchmark.json')

    def task_entry(self, task: str) -> Dict:
        """A task's record: its dataset config path, the SHA-256 of its
        resolved content as the runs read it (for an ODinW task: with its
        paths under ``--data-root``) and that data root (None for dataset
        configs of another kind, which name their own data)."""
        from .run_config import load_task_config, reads_odinw_root
        data_root = osp.abspath(self.data_root)
        cfg = load_task_config(self.task_configs[task], data_root)
        return dict(config=osp.abspath(self.task_configs[task]),
                    sha256=config_digest(cfg),
                    data_root=data_root if reads_odinw_root(cfg) else None)

    def fingerprint(self) -> Dict:
        """What the results depend on, as written to ``benchmark.json``
        (computed once: hashing large weights takes a while)."""
        if self._fingerprint is None:
            self._fingerprint = dict(
                format=RECORD_FORMAT,
                weights=osp.abspath(self.weights) if self.weights else None,
                weights_sha256=sha256_file(self.weights)
                if self.weights else None,
                model_config=self.model_config,
                model_config_sha256=config_digest(self.model_config),
                schedule=self.schedule,
                schedule_sha256=config_digest(self.schedule),
                cfg_options={k: repr(v)
                             for k, v in self.cfg_options.items()},
                data_root=osp.abspath(self.data_root),
                tasks={name: self.task_entry(name)
                       for name in self.task_configs})
        return self._fingerprint

    def _refuse(self, why: str) -> BenchmarkError:
        return BenchmarkError(
            f'{self.work_dir} holds results of another configuration: {why}.'
            ' Use another --work-dir (nothing there was changed).')

    def held_work(self, task: Optional[str] = None) -> List[str]:
        """The files under ``WORK/runs/<task>/`` (every task's if None) that
        hold work: a finished run's ``result.json`` and any checkpoint or
        kept weights (``*.pth``, ``last_checkpoint``), relative to the work
        dir. Logs and config dumps of runs that failed early are none."""
        top = osp.join(self.work_dir, 'runs')
        if task is not None:
            top = osp.join(top, task)
        held = []
        for folder, _, files in sorted(os.walk(top)):
            held += [
                osp.relpath(osp.join(folder, name), self.work_dir)
                for name in sorted(files)
                if name in ('result.json', 'last_checkpoint')
                or name.endswith('.pth')
            ]
        return held

    def _held_note(self, held: List[str]) -> str:
        return (f' (it holds {len(held)} file(s) of finished or '
                f'checkpointed runs, e.g. {held[0]})')

    def check_work_dir(self, update: bool = True) -> List[str]:
        """Refuse a work dir of another configuration, else record this one.

        Creates ``benchmark.json`` in a new work dir; in a used one, checks
        it (see the module doc) and adds the tasks it does not have yet,
        unless ``update`` is False (workers of a multi-process job leave
        that to rank 0). Refusing changes nothing in the work dir.

        Returns:
            the tasks of this call that the record still lacks (always
            empty when ``update``).
        """
        mine = self.fingerprint()
        path = self.record_path
        if not osp.isfile(path):
            if not update:
                return list(mine['tasks'])
            os.makedirs(self.work_dir, exist_ok=True)
            atomic_write_json(path, mine, indent=1)
            return []
        try:
            with open(path) as f:
                theirs = json.load(f)
        except (OSError, ValueError) as exc:
            raise BenchmarkError(
                f'{path}: cannot be read ({exc}); use another --work-dir.')
        if theirs.get('format') != RECORD_FORMAT or not isinstance(
                theirs.get('tasks'), dict):
            held = self.held_work()
            if held:
                raise BenchmarkError(
                    f'{path} was written by an older mmglip (it records the '
                    'weights by path and no per-task digests), so its '
                    'results cannot be checked against this configuration;'
                    ' use another --work-dir (nothing there was changed).')
            return self._record_anew(
                mine, 'it was written by an older mmglip', update)
        parts = global_differences(theirs, mine)
        if parts:
            held = self.held_work()
            if held:
                raise self._refuse('; '.join(parts) + self._held_note(held))
            return self._record_anew(mine, '; '.join(parts), update)
        replaced, missing = [], []
        for name, entry in mine['tasks'].items():
            old = theirs['tasks'].get(name)
            if old is None:
                missing.append(name)
            elif old.get('sha256') != entry['sha256']:
                why = task_difference(name, old, entry)
                held = self.held_work(name)
                if held:
                    raise self._refuse(why + self._held_note(held))
                replaced.append((name, why))
        if not update:
            return missing + [name for name, _ in replaced]
        if missing or replaced:
            for name, why in replaced:
                self._note_anew(why)
            theirs['tasks'].update(
                {t: mine['tasks'][t]
                 for t in missing + [name for name, _ in replaced]})
            atomic_write_json(path, theirs, indent=1)
        return []

    def _note_anew(self, why: str) -> None:
        print(f'note: {self.record_path}: {why}; no run made with the '
              'recorded configuration finished or wrote a checkpoint, so '
              'it is replaced by this one.', file=sys.stderr)

    def _record_anew(self, mine: Dict, why: str, update: bool) -> List[str]:
        """Replace a record under which no run holds work (see
        :meth:`held_work`) by this configuration's."""
        if not update:  # rank 0 rewrites it; wait for that
            return list(mine['tasks'])
        self._note_anew(why)
        atomic_write_json(self.record_path, mine, indent=1)
        return []

    # ------------------------------------------------------------------ runs
    def run_dir(self, spec: RunSpec) -> str:
        return osp.join(self.work_dir, 'runs', spec.name)

    def result(self, spec: RunSpec) -> Optional[Dict]:
        path = osp.join(self.run_dir(spec), 'result.json')
        if osp.isfile(path):
            with open(path) as f:
                return json.load(f)
        return None

    def run(self, spec: RunSpec, progress=None) -> Dict:
        """Run one spec (or return its stored result); ``progress``: a
        :class:`~mmglip.benchmark.progress.BenchmarkProgress` the run
        reports to.

        Order matters for a kill at any point: the kept weights file is
        written (atomically) by the run, then ``result.json`` (atomically),
        and only then the other checkpoints are deleted; a kill before
        ``result.json`` leaves every checkpoint to resume from.
        """
        done = self.result(spec)
        if done is not None:
            return done
        from .run import run_one
        t0 = time.time()
        result = run_one(self, spec, progress=progress)
        result.update(asdict(spec), model=self.name,
                      seconds=round(time.time() - t0, 1),
                      keep_checkpoints=self.keep_checkpoints)
        atomic_write_json(osp.join(self.run_dir(spec), 'result.json'),
                          result, indent=1)
        self.tidy(spec)
        return result

    def tidy(self, spec: RunSpec) -> List[str]:
        """Delete the checkpoints of a finished run, except the weights its
        ``result.json`` names, unless it was run with ``keep_checkpoints``.
        Also finishes a clean-up that a kill interrupted. Returns the
        deleted paths."""
        result = self.result(spec)
        if result is None or result.get('keep_checkpoints', True):
            return []
        kept = result.get('weights_file')
        return remove_checkpoints(
            self.run_dir(spec),
            keep=[osp.join(self.work_dir, kept)] if kept else [])

    def report(self, specs: List[RunSpec]) -> Dict[str, str]:
        """Write the reports over every finished run of ``specs``."""
        results = self.finished(specs)
        if not results:
            raise BenchmarkError('No finished runs to report.')
        return write_reports(results, self.work_dir)

    def finished(self, specs: List[RunSpec]) -> List[Dict]:
        """The results of the finished runs of ``specs``, each naming the
        model (``model``; results of older calls get it here) and whether
        it is a closed-set baseline (``baseline``)."""
        results = []
        for spec in specs:
            res = self.result(spec)
            if res is None:
                continue
            res = dict(res, model=res.get('model', self.name),
                       baseline=self.closed_set)
            if spec.mode == 'zero-shot':
                # one evaluation, shown in every mode's table
                modes = sorted({s.mode for s in specs} - {'zero-shot'}) or \
                    ['zero-shot']
                results.extend(dict(res, mode=m) for m in modes)
            else:
                results.append(res)
        return results

    def check_modes(self, shots: List, modes: List[str]) -> List:
        """The shots this model runs: a closed-set model has no zero-shot
        (skipped, with a note) and only :data:`CLOSED_SET_MODES` (another
        mode is refused in one line)."""
        if not self.closed_set:
            return list(shots)
        other = [m for m in modes if m not in CLOSED_SET_MODES]
        if other:
            raise BenchmarkError(
                f'--modes {" ".join(other)}: {self.name} is a closed-set '
                'detector without language; it supports '
                f'{", ".join(CLOSED_SET_MODES)} tuning only (zero-shot is '
                'skipped for it); run those modes for the GLIP models in '
                'another call.')
        if 0 in shots:
            print(f'note: {self.name} is a closed-set detector: no '
                  'zero-shot runs (it has no classes before tuning; the '
                  'table shows "-").', file=sys.stderr)
        return [s for s in shots if s != 0]


__all__ = ['MODES', 'BenchmarkError', 'RunSpec', 'plan_runs', 'shard',
           'FewShotBenchmark', 'config_digest']
