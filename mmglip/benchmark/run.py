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


def load_task_config(path: str, data_root: str) -> Config:
    """A task's dataset config; an ODinW task's data paths are moved under
    ``data_root`` (``--data-root``), a dataset config file of another kind
    keeps its own ``data_root``."""
    task = Config.fromfile(path)
    if 'odinw_task_root' in task:  # an ODinW task: move it under --data-root
        from mmglip.datasets.odinw import configure_odinw
        configure_odinw(task, odinw_root=data_root)
    return task


def base_run_config(bench, task: str):
    """The config every run of ``task`` starts from (the model config, the
    task's dataloaders and evaluators, the schedule; ``--cfg-options`` not
    yet applied, so they can be checked against it) and the schedule's
    benchmark-only keys (:data:`SCHEDULE_EXTRAS`)."""
    cfg = Config.fromfile(bench.model_config)
    task_cfg = load_task_config(bench.task_configs[task], bench.data_root)
    for key in _DATA_KEYS:
        cfg[key] = copy.deepcopy(task_cfg[key])
    schedule = Config.fromfile(bench.schedule)
    extra = {k: schedule.pop(k) for k in SCHEDULE_EXTRAS if k in schedule}
    cfg.merge_from_dict(schedule.to_dict())
    return cfg, extra


def build_run_config(bench, spec) -> Config:
    """The full config of one run (resuming from the run's newest readable
    checkpoint if a killed call left one)."""
    from mmglip.datasets.odinw import apply_fewshot
    cfg, extra = base_run_config(bench, spec.task)
    cfg.merge_from_dict(bench.cfg_options)

    if spec.shot not in (0, 'all'):
        # k-shot train and val files of the official protocol, kept with
        # the results (the data folder is never written to)
        apply_fewshot(cfg, spec.shot, spec.seed,
                      out_dir=osp.join(bench.work_dir, 'splits', spec.task))
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
                    val_best_ap=None, weights_file=None)
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
                epochs=runner.epoch,
                val_best_ap=None if best_score is None else 100 * best_score,
                weights_file=osp.relpath(osp.abspath(kept),
                                         osp.abspath(bench.work_dir)))
