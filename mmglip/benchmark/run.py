"""One benchmark run: build its config, train on the k-shot split, test the
best checkpoint."""
import copy
import os
import os.path as osp
from typing import Dict

from mmengine.config import Config


def build_run_config(bench, spec) -> Config:
    """The full config of one run."""
    from mmglip.datasets.odinw import apply_fewshot, configure_odinw
    cfg = Config.fromfile(bench.model_config)
    task = Config.fromfile(bench.task_configs[spec.task])
    if 'odinw_task_root' in task:  # an ODinW task: move it under --data-root
        configure_odinw(task, odinw_root=bench.data_root)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'test_evaluator'):
        cfg[key] = copy.deepcopy(task[key])
    schedule = Config.fromfile(bench.schedule)
    extra = {k: schedule.pop(k) for k in ('fewshot_repeats',
                                          'prompt_tuning_optimizer',
                                          'train_batch_size')
             if k in schedule}
    cfg.merge_from_dict(schedule.to_dict())
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
    resume_from = latest_checkpoint(cfg.work_dir)
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    return cfg


def latest_checkpoint(work_dir: str):
    """The newest readable ``epoch_N.pth`` of a killed run, or None.

    A file cut short by the kill cannot be read; it is moved aside as
    ``<name>.incomplete`` (not deleted) and the one before is used.
    """
    import re

    import torch
    if not osp.isdir(work_dir):
        return None
    epochs = sorted(
        (int(m.group(1)), f) for f in os.listdir(work_dir)
        for m in [re.fullmatch(r'epoch_(\d+)\.pth', f)] if m)
    for _, name in reversed(epochs):
        path = osp.join(work_dir, name)
        try:
            torch.load(path, map_location='cpu', weights_only=False,
                       mmap=True)
            return path
        except Exception:  # noqa: BLE001 (any unreadable file)
            os.replace(path, path + '.incomplete')
    return None


def run_one(bench, spec) -> Dict:
    """Train (unless zero-shot) and test; returns the metrics in AP %."""
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
                    val_best_ap=None)
    runner = Runner.from_cfg(cfg)
    runner.train()
    best = runner.message_hub.get_info('best_ckpt', None)
    best_score = runner.message_hub.get_info('best_score', None)
    if best:
        runner.load_checkpoint(best)
    metrics = runner.test()
    return dict(ap=100 * metrics['coco/bbox_mAP'],
                ap50=100 * metrics['coco/bbox_mAP_50'],
                epochs=runner.epoch,
                val_best_ap=None if best_score is None else 100 * best_score,
                best_checkpoint=best)
