"""The config of one benchmark run: the model config with the task's data,
the schedule, the k-shot split of the official protocol, the mode, the
weights (or the run's own newest checkpoint to resume from); and the check
that every split a run reads is there before anything starts.
"""
import copy
import os.path as osp
import sys

from mmengine.config import Config

from mmglip.utils.checkpoints import latest_readable_checkpoint

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
