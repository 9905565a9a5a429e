"""The benchmark's console lines: run i of N, each run's progress and its
AP as it finishes, and an estimate of the time left for all runs (ETA).

Every line starts with ``[benchmark]`` (``[benchmark w<rank>/<world>]`` on
a worker of a multi-process job) and is printed at once (flushed). The
estimate: the running run's time left, from the share of it done so far
(epochs for a trained run, images for a zero-shot one), plus, per run still
to come, the mean time of the finished runs of its kind (zero-shot or
trained) of this call, or the running run's projected time when it is of
that kind. While a kind has no timed run yet the estimate is a lower bound
("more than ...").

Light to import (no torch or mmengine): tested on its own with a fake
clock.
"""
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional, TextIO

from .plan import RunSpec


def format_duration(seconds: float) -> str:
    """``45 s``, ``3 min 05 s``, ``2 h 07 min``."""
    seconds = int(round(max(0.0, seconds)))
    if seconds < 60:
        return f'{seconds} s'
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f'{minutes} min {sec:02d} s'
    hours, minutes = divmod(minutes, 60)
    return f'{hours} h {minutes:02d} min'


def run_kind(spec: RunSpec) -> str:
    """``'zero-shot'`` (evaluation only) or ``'trained'``."""
    return 'zero-shot' if spec.shot == 0 else 'trained'


class BenchmarkProgress:
    """The console lines of one process's runs.

    Args:
        runs: the runs of this process, in order (finished ones included:
            they keep their numbers, "run i of N" counts them all).
        todo: those of ``runs`` that this call runs.
        worker: a prefix such as ``'w1/4'`` for multi-process jobs.
        stream: where the lines go (default: ``sys.stdout`` as it is when
            the object is made, so that a run's redirected output does not
            catch them).
        clock: seconds, monotonic (tests give a fake one).
    """

    def __init__(self, runs: List[RunSpec], todo: List[RunSpec],
                 worker: str = '', stream: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.monotonic):
        self.runs = list(runs)
        self.todo = list(todo)
        self.prefix = f'[benchmark {worker}]' if worker else '[benchmark]'
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock
        self.seconds: Dict[str, List[float]] = {}  # kind -> finished runs
        self.spec: Optional[RunSpec] = None
        self.started = 0.0
        self.fraction = 0.0

    # ------------------------------------------------------------- output
    def say(self, text: str) -> None:
        print(f'{self.prefix} {text}', file=self.stream, flush=True)

    def _label(self) -> str:
        number = self.runs.index(self.spec) + 1
        return f'run {number}/{len(self.runs)} {self.spec.name}'

    # ------------------------------------------------------------ the runs
    def start(self, spec: RunSpec) -> None:
        """A run begins."""
        self.spec, self.started, self.fraction = spec, self.clock(), 0.0
        what = ('zero-shot evaluation' if run_kind(spec) == 'zero-shot'
                else f'{spec.mode} tuning')
        self.say(f'{self._label()}: {what}')

    def update(self, fraction: float, text: str) -> None:
        """The running run is ``fraction`` (0..1) done; prints ``text`` and
        the time left."""
        self.fraction = min(1.0, max(self.fraction, fraction))
        left = self.eta()
        self.say(f'{self._label()}: {text}; ETA {self._eta_text(left)}')

    def note(self, text: str) -> None:
        """A line about the running run, without an estimate."""
        self.say(f'{self._label()}: {text}')

    def finish(self, result: Dict) -> None:
        """The running run finished with ``result`` (its ``ap`` in %,
        ``eval_file``)."""
        took = self.clock() - self.started
        self.seconds.setdefault(run_kind(self.spec), []).append(took)
        split = _split_name(result.get('eval_file'))
        label = self._label()
        self.todo.remove(self.spec)
        self.spec, self.fraction = None, 0.0
        left = self.eta()
        rest = (f'{len(self.todo)} run(s) left, ETA {self._eta_text(left)}'
                if self.todo else 'all runs of this call done')
        self.say(f'{label}: AP {result["ap"]:.1f} on the {split} split '
                 f'(took {format_duration(took)}); {rest}')

    # --------------------------------------------------------- the estimate
    def eta(self) -> Dict:
        """``dict(seconds, exact)``: the time left for the running run and
        the runs still to come; ``exact`` is False when a run still to come
        is of a kind without a timed run (``seconds`` is then a lower
        bound), ``seconds`` None when nothing at all can be estimated
        yet."""
        seconds, exact = 0.0, True
        projected = None
        if self.spec is not None:
            elapsed = self.clock() - self.started
            if self.fraction > 0:
                projected = elapsed / self.fraction
                seconds += projected - elapsed
            else:
                exact = False
        for spec in self.todo:
            if spec == self.spec:
                continue
            kind = run_kind(spec)
            timed = self.seconds.get(kind)
            if timed:
                seconds += sum(timed) / len(timed)
            elif (projected is not None and self.spec is not None
                  and run_kind(self.spec) == kind):
                seconds += projected
            else:
                exact = False
        if not exact and seconds == 0:
            return dict(seconds=None, exact=False)
        return dict(seconds=seconds, exact=exact)

    @staticmethod
    def _eta_text(left: Dict) -> str:
        if left['seconds'] is None:
            return 'not known yet'
        text = format_duration(left['seconds'])
        return text if left['exact'] else f'more than {text}'


def _split_name(eval_file: Optional[str]) -> str:
    """The split folder of the file a run was tested on (``valid``,
    ``test``); for one-folder tasks the file name's split."""
    if not eval_file:
        return 'test'
    folder = osp.basename(osp.dirname(eval_file))
    name = osp.basename(eval_file)
    if name.endswith('_annotations_without_background.json'):
        return name.split('_annotations', 1)[0]
    return folder or 'test'
