"""One benchmark run: train on the k-shot split (its config:
:mod:`.run_config`), test the best checkpoint, keep its weights.

The console of a run shows the benchmark's progress lines
(:class:`~mmglip.benchmark.progress.BenchmarkProgress`) and warnings;
mmengine's config and environment dumps, its training log lines and the
COCO evaluation tables go to the run's log file only
(``runs/<task>/<mode>/shot<k>_seed<s>/<timestamp>/<timestamp>.log``).
"""
import contextlib
import io
import logging
import math
import os
import os.path as osp
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmglip.utils.checkpoints import save_weights_only

from .run_config import build_run_config

#: file name of the weights a finished run keeps (state_dict + meta)
WEIGHTS_FILE = 'weights_best.pth'


def _final_weights(runner, best_checkpoint: Optional[Dict]) -> Dict:
    """The checkpoint whose weights the run keeps: the best one (already
    loaded into the model), else the model as training left it."""
    if best_checkpoint is not None:
        return best_checkpoint
    from mmengine.model import is_model_wrapper
    from mmengine.runner.checkpoint import weights_to_cpu
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    return dict(state_dict=weights_to_cpu(model.state_dict()),
                meta=dict(epoch=runner.epoch, iter=runner.iter,
                          experiment_name=runner.experiment_name))


def _eval_file(dataset) -> Optional[str]:
    """The annotation file a run was tested on, relative to the dataset's
    data root (``Raccoon/Raccoon.v2-raw.coco/valid/annotations_...json``)."""
    ann = getattr(dataset, 'ann_file', None)
    root = getattr(dataset, 'data_root', None)
    if ann and root:
        return osp.relpath(ann, root)
    return ann


# ------------------------------------------------------- console and log
#: mmengine warnings that are no news to a benchmark user: its note per
#: frozen parameter (a hundred per run in the partial tuning modes) and its
#: own deprecation notices; the console leaves them to the log file
_LOG_FILE_ONLY = ('is skipped since its requires_grad=False',
                  '"FileClient" will be deprecated',
                  '"HardDiskBackend" is the alias of "LocalBackend"')


def _mmengine_detail(record: logging.LogRecord) -> bool:
    """False for the records of :data:`_LOG_FILE_ONLY`."""
    message = str(record.msg)
    return not any(text in message for text in _LOG_FILE_ONLY)


class BenchmarkRunner(Runner):
    """mmengine's Runner whose console handler passes warnings and errors
    only (less those of :data:`_LOG_FILE_ONLY`): the INFO lines (the config
    and environment dumps, the hook table, the training log lines) go to
    the run's log file alone."""

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and \
                    not isinstance(handler, logging.FileHandler):
                handler.setLevel(max(handler.level, logging.WARNING))
                handler.addFilter(_mmengine_detail)
        return logger


class _LinesToLog(io.TextIOBase):
    """A text stream whose lines are INFO records of ``logger`` (so they
    reach its log file, not the console): what pycocotools and other
    libraries print during a run."""

    def __init__(self, logger):
        self.logger = logger
        self.pending = ''

    def writable(self):
        return True

    def write(self, text):
        lines = (self.pending + text).split('\n')
        self.pending = lines.pop()
        for line in lines:
            if line.strip():
                self.logger.info(line)
        return len(text)

    def flush(self):
        if self.pending.strip():
            self.logger.info(self.pending)
        self.pending = ''


@contextlib.contextmanager
def _stdout_to_log(runner):
    stream = _LinesToLog(runner.logger)
    try:
        with contextlib.redirect_stdout(stream):
            yield
    finally:
        stream.flush()


def _log_file(runner) -> str:
    for handler in runner.logger.handlers:
        if isinstance(handler, logging.FileHandler):
            path = handler.baseFilename
            rel = osp.relpath(path)
            return rel if not rel.startswith('..') else path
    return runner.log_dir


class ProgressHook(Hook):
    """Reports a run's progress to a
    :class:`~mmglip.benchmark.progress.BenchmarkProgress`: the start of
    training (epochs, where it resumes, the log file), every tenth of the
    epochs with the latest val AP, and testing by quarters of the images.
    """
    priority = 'LOWEST'

    def __init__(self, progress, zero_shot: bool):
        self.progress = progress
        self.zero_shot = zero_shot
        self.pending = None  # an epoch line waiting for its val AP
        self.first = self.max_epochs = 0

    # training
    def before_train(self, runner):
        loop = runner.train_loop
        self.first, self.max_epochs = runner.epoch, loop.max_epochs
        resumed = (f', resumed after epoch {runner.epoch}'
                   if runner.epoch else '')
        self.progress.note(
            f'training {loop.max_epochs} epochs of {len(loop.dataloader)} '
            f'iterations{resumed} (log: {_log_file(runner)})')

    def after_train_epoch(self, runner):
        self._flush()
        done, total = runner.epoch + 1, self.max_epochs
        step = max(1, total // 10)
        if done == self.first + 1 or done % step == 0 or done == total:
            share = (done - self.first) / max(1, total - self.first)
            self.pending = (share, f'epoch {done}/{total}')

    def after_val_epoch(self, runner, metrics=None):
        ap = (metrics or {}).get('coco/bbox_mAP')
        if self.pending is not None and ap is not None:
            share, text = self.pending
            self.pending = (share, f'{text}, val AP {100 * ap:.1f}')
        self._flush()

    def after_train(self, runner):
        self._flush()

    def _flush(self):
        if self.pending is not None:
            self.progress.update(*self.pending)
            self.pending = None

    # testing
    def before_test_epoch(self, runner):
        loader = runner.test_dataloader
        self.batches = len(loader)
        self.images = len(loader.dataset)
        self.marks = {math.ceil(self.batches * k / 4) for k in (1, 2, 3, 4)}
        what = ('evaluating' if self.zero_shot else
                'testing the best checkpoint on')
        text = f'{what} {self.images} images'
        if self.zero_shot:
            text += f' (log: {_log_file(runner)})'
        self.progress.note(text)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        done = batch_idx + 1
        if done not in self.marks or done == self.batches:
            return
        images = min(self.images,
                     round(done * self.images / max(1, self.batches)))
        text = f'{images}/{self.images} images'
        if self.zero_shot:
            self.progress.update(done / self.batches, text)
        else:
            self.progress.note(text)


def _watch(runner, progress, zero_shot: bool) -> None:
    if progress is not None:
        runner.register_hook(ProgressHook(progress, zero_shot))


def run_one(bench, spec, progress=None) -> Dict:
    """Train (unless zero-shot) and test; returns the metrics in AP % and
    ``weights_file``: the weights the run keeps, relative to the work dir
    (None for zero-shot). ``progress``: a
    :class:`~mmglip.benchmark.progress.BenchmarkProgress` to report to.

    Unless ``bench.keep_checkpoints``, the best checkpoint's ``state_dict``
    and ``meta`` are written to ``WEIGHTS_FILE`` in the run dir (the
    caller deletes the other checkpoints once ``result.json`` is written);
    with it, ``weights_file`` is mmengine's best checkpoint itself.
    """
    import mmglip
    mmglip.register_all_modules()
    cfg = build_run_config(bench, spec)
    os.makedirs(cfg.work_dir, exist_ok=True)
    if spec.shot == 0:
        cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = None
        cfg.param_scheduler = None
        runner = BenchmarkRunner.from_cfg(cfg)
        _watch(runner, progress, zero_shot=True)
        with _stdout_to_log(runner):
            metrics = runner.test()
        return dict(ap=100 * metrics['coco/bbox_mAP'],
                    ap50=100 * metrics['coco/bbox_mAP_50'], epochs=0,
                    val_best_ap=None, weights_file=None,
                    eval_file=_eval_file(runner.test_dataloader.dataset))
    runner = BenchmarkRunner.from_cfg(cfg)
    _watch(runner, progress, zero_shot=False)
    with _stdout_to_log(runner):
        runner.train()
        best = runner.message_hub.get_info('best_ckpt', None)
        best_score = runner.message_hub.get_info('best_score', None)
        best_checkpoint = runner.load_checkpoint(best) if best else None
        metrics = runner.test()
    if bench.keep_checkpoints and best:
        kept = best
    else:
        kept = save_weights_only(_final_weights(runner, best_checkpoint),
                                 osp.join(cfg.work_dir, WEIGHTS_FILE))
    return dict(ap=100 * metrics['coco/bbox_mAP'],
                ap50=100 * metrics['coco/bbox_mAP_50'],
                eval_file=_eval_file(runner.test_dataloader.dataset),
                epochs=runner.epoch,
                val_best_ap=None if best_score is None else 100 * best_score,
                weights_file=osp.relpath(osp.abspath(kept),
                                         osp.abspath(bench.work_dir)))
