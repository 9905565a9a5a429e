"""One benchmark run: build its config, train on the k-shot split, test the
best checkpoint, keep its weights.

The console of a run shows the benchmark's progress lines
(:class:`~mmglip.benchmark.progress.BenchmarkProgress`) and warnings;
mmengine's config and environment dumps, its training log lines and the
COCO evaluation tables go to the run's log file only
(``runs/<task>/<mode>/shot<k>_seed<s>/<timestamp>/<timestamp>.log``).
"""
import contextlib
import copy
import io
import logging
import math
import os
import os.path as osp
import sys
from typing import Dict, Optional

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmglip.utils.checkpoints import (latest_readable_checkpoint,
                                      save_weights_only)

#: file name of the weights a finished run keeps (state_dict + meta)
WEIGHTS_FILE = 'weights_best.pth'
#: schedule keys read by the benchmark, not by mmengine
SCHEDULE_EXTRAS = ('fewshot_repeats', 'prompt_tuning_optimizer',
                   'train_batch_size')
_DATA_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader',
              'val_evaluator', 'test_evaluator')
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')
_KSHOT_DATASET = 'ODinWDataset'
_KSHOT_METRIC = 'DatasetCocoMetric'


def _inner_dataset(dataset_cfg):
    """The dataset dict under Repeat/ClassBalanced wrappers."""
    while isinstance(dataset_cfg, dict) and 'dataset' in dataset_cfg and (
            _type_name(dataset_cfg) in _WRAPPERS):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def _type_name(cfg) -> str:
    return str(cfg.get('type', '')).split('.')[-1]


def _datasets(cfg):
    return [(key, _inner_dataset(cfg[key]['dataset'])) for key in _LOADERS
            if cfg.get(key)]


def reads_odinw_root(cfg) -> bool:
    """Whether a dataset config is an ODinW task read from the ODinW root:
    it has ``odinw_root`` (configs/_base_/datasets/odinw/_base_odinw.py)
    and every dataset's ``data_root`` is that root. A config that sets its
    own ``data_root`` (the demo's raccoon_mini.py) keeps it."""
    root = cfg.get('odinw_root')
    return root is not None and all(
        ds.get('data_root') == root for _, ds in _datasets(cfg))


def load_task_config(path: str, data_root: str) -> Config:
    """A task's dataset config; an ODinW task (:func:`reads_odinw_root`)
    reads from ``data_root`` (``--data-root``): its ``odinw_root`` and its
    datasets' ``data_root`` are set to it. A dataset config of another kind
    keeps its own ``data_root``."""
    task = Config.fromfile(path)
    if reads_odinw_root(task):
        task.odinw_root = data_root
        for _, ds in _datasets(task):
            ds['data_root'] = data_root
    return task


def set_fewshot(cfg, task: str, shots: int, seed: int, out_dir: str) -> None:
    """Make the train and val datasets read their k-shot samples (the
    official protocol; the test split is used whole): each dataset gets
    ``fewshot=dict(shots, seed, out_dir)`` and writes or reuses the file
    itself. The val metric then scores against the k-shot val file, which
    needs ``mmglip.ODinWDataset`` and ``mmglip.DatasetCocoMetric`` without
    its own ``ann_file``; anything else is refused."""
    from .plan import BenchmarkError
    for key in ('train_dataloader', 'val_dataloader'):
        ds = _inner_dataset(cfg[key]['dataset'])
        if _type_name(ds) != _KSHOT_DATASET:
            raise BenchmarkError(
                f'task {task}: {key}.dataset.type={ds.get("type")!r}; '
                f'k-shot runs need mmglip.{_KSHOT_DATASET} (it reads the '
                'k-shot file from fewshot=dict(shots, seed)).')
        ds['fewshot'] = dict(shots=shots, seed=seed, out_dir=out_dir)
    metric = cfg.get('val_evaluator')
    if not isinstance(metric, dict) or _type_name(metric) != \
            _KSHOT_METRIC or metric.get('ann_file'):
        raise BenchmarkError(
            f'task {task}: val_evaluator={metric!r}; k-shot runs need '
            f'dict(type=\'mmglip.{_KSHOT_METRIC}\') without ann_file (it '
            'scores against the k-shot val file the dataset reads).')


def base_run_config(bench, task: str):
    """The config every run of ``task`` starts from (the model config, the
    task's dataloaders and evaluators, the schedule; ``--cfg-options`` not
    yet applied, so they can be checked against it) and the schedule's
    benchmark-only keys (:data:`SCHEDULE_EXTRAS`)."""
    cfg = Config.fromfile(bench.model_config)
    task_cfg = load_task_config(bench.task_configs[task], bench.data_root)
    for key in _DATA_KEYS:
        cfg[key] = copy.deepcopy(task_cfg[key])
    set_official_prompts(cfg)
    if getattr(bench, 'closed_set', False):
        size_classifier(cfg, task)
    schedule = Config.fromfile(bench.schedule)
    extra = {k: schedule.pop(k) for k in SCHEDULE_EXTRAS if k in schedule}
    cfg.merge_from_dict(schedule.to_dict())
    return cfg, extra


def task_classes(cfg, task: str) -> tuple:
    """The class names a task's datasets read (``task.classes``, else
    ``metainfo.classes``); the same in every split."""
    from .plan import BenchmarkError
    found = set()
    for _, ds in _datasets(cfg):
        classes = (ds.get('task') or {}).get('classes') or \
            (ds.get('metainfo') or {}).get('classes')
        if classes:
            found.add(tuple(classes))
    if len(found) != 1:
        raise BenchmarkError(
            f'task {task}: its dataset config names '
            + ('no classes' if not found else 'other classes per split')
            + ' (task=dict(classes=...)); a closed-set model needs the '
            'class list to size its classifier.')
    return found.pop()


def size_classifier(cfg, task: str) -> None:
    """A closed-set model's classifier gets the task's classes
    (``model.bbox_head.num_classes``)."""
    cfg.model.bbox_head.num_classes = len(task_classes(cfg, task))


def set_official_prompts(cfg) -> None:
    """The official commands' prompt switches on every ODinW dataset of a
    run: ``DATASETS.USE_CAPTION_PROMPT True`` and ``DATASETS.USE_OVERRIDE_
    CATEGORY True`` (README of microsoft/GLIP, zero-shot and fine-tuning
    alike) -> ``use_caption_prompt`` / ``use_class_overrides``: a task
    config's ``caption_prompt`` / ``class_overrides`` are used. The
    ODinW-13 task configs have none (as the official odinw_13 configs), the
    ODinW-35 ones the official ones. ``--cfg-options`` still win."""
    for _, ds in _datasets(cfg):
        if _type_name(ds) == _KSHOT_DATASET:
            ds['use_caption_prompt'] = True
            ds['use_class_overrides'] = True


def set_zero_shot_as_published(cfg) -> None:
    """Zero-shot as published: the test loader evaluates what the val loader
    reads, the task's official evaluation split (``DATASETS.TEST`` of the
    official task config: ``val``, or ``minival`` (folder ``mini_val``) where
    the task has one: EgoHands, VehiclesOpenImages, ...), with the val
    metric. MMDetection's port evaluates ``valid`` everywhere instead."""
    cfg.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    cfg.test_evaluator = copy.deepcopy(cfg.val_evaluator)
    # no training: hooks of the train loop (early stopping) cannot run
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks') or []
        if _type_name(h) != 'EarlyStoppingHook']


def build_run_config(bench, spec) -> Config:
    """The full config of one run (resuming from the run's newest readable
    checkpoint if a killed call left one)."""
    cfg, extra = base_run_config(bench, spec.task)
    if spec.shot == 0:
        set_zero_shot_as_published(cfg)
    cfg.merge_from_dict(bench.cfg_options)

    if spec.shot not in (0, 'all'):
        # k-shot train and val files of the official protocol, kept with
        # the results (the data folder is never written to)
        set_fewshot(cfg, spec.task, spec.shot, spec.seed,
                    osp.abspath(osp.join(bench.splits_dir, spec.task)))
        times = extra.get('fewshot_repeats', {}).get(spec.shot, 1)
        if times > 1:
            cfg.train_dataloader.dataset = dict(
                type='mmdet.RepeatDataset', times=times,
                dataset=cfg.train_dataloader.dataset)
    if 'train_batch_size' in extra:
        cfg.train_dataloader.batch_size = extra['train_batch_size']
    if spec.mode != 'zero-shot':
        cfg.model.tuning_mode = spec.mode
    if spec.mode == 'prompt' and 'prompt_tuning_optimizer' in extra:
        cfg.optim_wrapper.optimizer.update(extra['prompt_tuning_optimizer'])
    import torch
    if torch.cuda.is_available() and spec.mode != 'zero-shot':
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
    if bench.weights:
        cfg.load_from = bench.weights
        if 'language_model' in cfg.model:
            cfg.model.language_model.pretrained = False
    cfg.work_dir = bench.run_dir(spec)
    cfg.experiment_name = spec.name.replace('/', '_')
    if isinstance(cfg.get('visualizer'), dict):
        # named after the run (mmengine's default): one visualizer per run,
        # not the same name again (a UserWarning per run)
        cfg.visualizer.pop('name', None)
    resume_from = latest_readable_checkpoint(cfg.work_dir,
                                             on_set_aside=_warn_set_aside)
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    return cfg


def check_task_files(bench, specs) -> None:
    """Before anything is recorded or run: the annotation file of every split
    that the runs ``specs`` (those still to do) read exists (a zero-shot run
    reads the val split, the others train, val and test). Raises a
    BenchmarkError naming the first missing file and, for an ODinW task,
    where it is read from and how to put it there."""
    from mmglip.datasets.odinw import odinw_split_files
    from .plan import BenchmarkError
    for task, path in bench.task_configs.items():
        shots = {s.shot for s in specs if s.task == task}
        if not shots:
            continue
        keys = list(_LOADERS) if shots - {0} else ['val_dataloader']
        cfg = load_task_config(path, bench.data_root)
        odinw = reads_odinw_root(cfg)
        for key in keys:
            if not cfg.get(key):
                continue
            ds = _inner_dataset(cfg[key]['dataset'])
            if ds.get('task') is not None and ds.get('split'):
                ann, _ = odinw_split_files(ds['task'], ds['split'])
                role = ds['split']
            elif ds.get('ann_file'):
                ann, role = ds['ann_file'], key.split('_')[0]
            else:
                continue
            root = ds.get('data_root') or ''
            full = ann if osp.isabs(ann) else osp.join(root, ann)
            if '://' in full or osp.isfile(full):
                continue
            if not odinw:
                raise BenchmarkError(
                    f'task {task}: {full} (its {role} split, from the '
                    f'dataset config {path}) does not exist.')
            task_dir = osp.join(root, ds['task'].get('root') or '')
            name = ds['task'].get('name') or task
            if osp.isdir(task_dir):
                where = (f'the {role} split is missing from {task_dir} '
                         '(converted data without that split?)')
            else:
                where = (f'an ODinW task is read from --data-root/<its '
                         f'root>, here {task_dir}')
            raise BenchmarkError(
                f'task {name}: {full} does not exist; {where}. Put the task '
                f'there: python tools/download.py --dataset {name} '
                f'--data-root {bench.data_root} fetches it, or python '
                'tools/dataset_converters/to_odinw.py SRC --format FORMAT '
                f'--task {name} --data-root {bench.data_root} converts a '
                'dataset of your own to that place.')


def _warn_set_aside(path: str, moved_to: str, error: BaseException) -> None:
    print(f'warning: {path} cannot be read (cut short by a kill?), moved '
          f'aside as {osp.basename(moved_to)}: {str(error)[:200]}',
          file=sys.stderr)


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
