"""One benchmark run: build its config, train on the k-shot split, test the
best checkpoint, keep its weights."""
import copy
import os
import os.path as osp
import sys
from typing import Dict, Optional

from mmengine.config import Config

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
    schedule = Config.fromfile(bench.schedule)
    extra = {k: schedule.pop(k) for k in SCHEDULE_EXTRAS if k in schedule}
    cfg.merge_from_dict(schedule.to_dict())
    return cfg, extra


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
                    osp.abspath(osp.join(bench.work_dir, 'splits',
                                         spec.task)))
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
        cfg.model.language_model.pretrained = False
    cfg.work_dir = bench.run_dir(spec)
    cfg.experiment_name = spec.name.replace('/', '_')
    resume_from = latest_readable_checkpoint(cfg.work_dir,
                                             on_set_aside=_warn_set_aside)
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    return cfg


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


def run_one(bench, spec) -> Dict:
    """Train (unless zero-shot) and test; returns the metrics in AP % and
    ``weights_file``: the weights the run keeps, relative to the work dir
    (None for zero-shot).

    Unless ``bench.keep_checkpoints``, the best checkpoint's ``state_dict``
    and ``meta`` are written to ``WEIGHTS_FILE`` in the run dir (the
    caller deletes the other checkpoints once ``result.json`` is written);
    with it, ``weights_file`` is mmengine's best checkpoint itself.
    """
    import mmglip
    mmglip.register_all_modules()
    from mmengine.runner import Runner
    cfg = build_run_config(bench, spec)
    os.makedirs(cfg.work_dir, exist_ok=True)
    if spec.shot == 0:
        cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = None
        cfg.param_scheduler = None
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
        return dict(ap=100 * metrics['coco/bbox_mAP'],
                    ap50=100 * metrics['coco/bbox_mAP_50'], epochs=0,
                    val_best_ap=None, weights_file=None,
                    eval_file=_eval_file(runner.test_dataloader.dataset))
    runner = Runner.from_cfg(cfg)
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
