"""Progress of an evaluation in images: done / total, elapsed time and ETA.

mmengine's ``LoggerHook`` logs a test / val line every ``interval``
iterations (50 in default_runtime.py): on a CPU, or on a small set, nothing
appears for many minutes. :class:`EvalProgressHook` logs a line whenever
``step_percent`` of the images or ``interval_s`` seconds have passed since
its last line, and says when the inference is over and the metrics run
(LVIS Fixed AP can take minutes by itself).
"""
import datetime
import math
import time
from typing import Optional, Sequence

from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from mmglip.registry import HOOKS


def _clock(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(round(seconds))))


def _rate(seconds: float, images: int) -> str:
    per = seconds / max(images, 1)
    if per >= 1:
        return f'{per:.2f} s/image'
    return f'{1 / per:.1f} images/s' if per > 0 else 'no time'


@HOOKS.register_module()
class EvalProgressHook(Hook):
    """Log ``test: 13/26 images (50%), 0:04:46 elapsed, ETA 0:04:46
    (22.02 s/image)`` during test and val loops.

    Args:
        step_percent (float): a line at least every this share of the
            images.
        interval_s (float): and at least every this many seconds.
    """
    priority = 'LOW'

    def __init__(self, step_percent: float = 5.0,
                 interval_s: float = 10.0) -> None:
        self.step_percent = step_percent
        self.interval_s = interval_s
        self._state = None

    # ------------------------------------------------------------ hooks
    def before_val_epoch(self, runner) -> None:
        self._begin(runner, 'val')

    def before_test_epoch(self, runner) -> None:
        self._begin(runner, 'test')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        self._advance(runner, data_batch, outputs)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        self._advance(runner, data_batch, outputs)

    # ------------------------------------------------------------ work
    def _begin(self, runner, mode: str) -> None:
        loop = runner.test_loop if mode == 'test' else runner.val_loop
        loader = loop.dataloader
        total = len(loader.dataset)
        world = get_world_size()
        try:  # this process's share (a distributed sampler splits them)
            mine = len(loader.sampler)
        except TypeError:
            mine = math.ceil(total / world)
        from .dump import DumpPredictions
        metrics = [type(m).__name__ for m in loop.evaluator.metrics
                   if not isinstance(m, DumpPredictions)]
        now = time.monotonic()
        self._state = dict(mode=mode, total=total, mine=max(mine, 1),
                           scale=total / max(mine, 1), done=0, start=now,
                           last_time=now, last_done=0, metrics=metrics)

    @staticmethod
    def _count(data_batch, outputs) -> int:
        if outputs is not None:
            try:
                return len(outputs)
            except TypeError:
                pass
        if isinstance(data_batch, dict) and 'data_samples' in data_batch:
            return len(data_batch['data_samples'])
        return 1

    def _advance(self, runner, data_batch, outputs) -> None:
        st = self._state
        if st is None:
            return
        st['done'] += self._count(data_batch, outputs)
        now = time.monotonic()
        done = min(st['mine'], st['done'])
        shown = min(st['total'], int(round(done * st['scale'])))
        elapsed = now - st['start']
        if done >= st['mine']:
            runner.logger.info(
                f'{st["mode"]}: all {st["total"]} images done in '
                f'{_clock(elapsed)} ({_rate(elapsed, shown)}); '
                f'{", ".join(st["metrics"]) or "the evaluator"} now ...')
            self._state = None
            return
        step = st['mine'] * self.step_percent / 100
        if done - st['last_done'] < step and \
                now - st['last_time'] < self.interval_s:
            return
        eta = elapsed / done * (st['mine'] - done)
        runner.logger.info(
            f'{st["mode"]}: {shown}/{st["total"]} images '
            f'({100 * shown / st["total"]:.0f}%), {_clock(elapsed)} elapsed,'
            f' ETA {_clock(eta)} ({_rate(elapsed, shown)})')
        st['last_time'], st['last_done'] = now, done


__all__ = ['EvalProgressHook']
