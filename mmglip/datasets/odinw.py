"""ODinW datasets: a checked COCO dataset, the 13 tasks, config helpers.

:class:`ODinWDataset` is mmdet's ``CocoDataset`` with three differences:

* the annotation file is checked when it is loaded
  (:func:`~mmglip.datasets.validation.validate_coco`): an image missing on
  disk, a config class the file does not have, config classes in another
  order than the file's, malformed entries are errors naming what is wrong;
  boxes partly outside the image are clipped and degenerate ones dropped,
  with one warning that names them;
* class labels follow the config's class order by name, and classes default
  to the file's categories (not to COCO's 80);
* prompt options: ``caption_prompt`` (+ ``use_caption_prompt``) and
  ``class_overrides`` (+ ``use_class_overrides``), see
  :mod:`mmglip.datasets.prompts`. The caption prompt reaches the model as
  the sample's ``caption_prompt`` meta key (list form), the overrides as its
  ``text``.
"""
import copy
import json
import logging
import os.path as osp
import warnings
from typing import Dict, List, Optional

from mmdet.datasets import CocoDataset
from mmengine.fileio import get_local_path
from mmengine.logging import print_log

from mmglip.registry import DATASETS
from .prompts import apply_class_overrides, normalize_caption_prompt
from .validation import WARNING, ODinWDataError, validate_coco


class ODinWDataWarning(UserWarning):
    """Boxes clipped or dropped while loading an annotation file."""


@DATASETS.register_module()
class ODinWDataset(CocoDataset):
    """COCO-format detection dataset with load-time checks and prompt options.

    Args:
        caption_prompt (dict | list, optional): per-class prefix / name /
            suffix (dict keyed by class name, or a list in class order).
        use_caption_prompt (bool): attach ``caption_prompt`` to the samples.
            Configs keep the prompt visible and switch it with this flag.
        class_overrides (dict, optional): ``{file class name: prompt name}``.
        use_class_overrides (bool): apply ``class_overrides`` to ``text``.
        check_images (bool): error if an image is missing on disk.
        check_image_sizes (bool): also decode every image (a truncated or
            corrupt file is an error naming it) and compare its real size
            with the json (off by default: it reads every image once).
        **kwargs: as for mmdet's ``CocoDataset`` (``return_classes=True`` is
            needed for GLIP).
    """
    METAINFO = dict(classes=None, palette=None)

    def __init__(self,
                 *args,
                 caption_prompt=None,
                 use_caption_prompt: bool = True,
                 class_overrides: Optional[Dict[str, str]] = None,
                 use_class_overrides: bool = True,
                 check_images: bool = True,
                 check_image_sizes: bool = False,
                 **kwargs) -> None:
        self.odinw_caption_prompt = caption_prompt
        self.use_caption_prompt = use_caption_prompt
        self.class_overrides = class_overrides
        self.use_class_overrides = use_class_overrides
        self.check_images = check_images
        self.check_image_sizes = check_image_sizes
        self.validation_report = None
        super().__init__(*args, **kwargs)

    # ---------------------------------------------------------------- loading
    def load_data_list(self) -> List[dict]:
        with get_local_path(self.ann_file,
                            backend_args=self.backend_args) as local_path:
            try:
                with open(local_path, encoding='utf-8') as f:
                    coco = json.load(f)
            except ValueError as exc:
                raise ODinWDataError(
                    f'{self.ann_file} cannot be read as json: {exc}') from exc

        classes = self._metainfo.get('classes')
        if classes is None:  # default: the file's categories, in its order
            classes = tuple(c.get('name') for c in coco.get('categories', []))
            self._metainfo['classes'] = classes
        img_dir = self.data_prefix.get('img', self.data_prefix.get(
            'img_path', ''))
        report = validate_coco(
            coco,
            self.ann_file,
            img_dir=img_dir if (self.check_images or self.check_image_sizes)
            and not self.backend_args else None,
            classes=list(classes),
            check_images=self.check_images,
            check_image_sizes=self.check_image_sizes)
        self.validation_report = report
        report.raise_if_errors()
        if report.warnings:
            warnings.warn(report.format(WARNING), ODinWDataWarning,
                          stacklevel=2)
            kinds = {}
            for issue in report.warnings:
                kinds[issue.kind] = kinds.get(issue.kind, 0) + 1
            print_log(
                f'{self.ann_file}: ' + ', '.join(
                    f'{n} {k}' for k, n in kinds.items()) +
                ' (boxes dropped / clipped when loading; the '
                'ODinWDataWarning names them)',
                logger='current',
                level=logging.WARNING)

        # prompt options, checked against the classes now known
        self._prompt_text = tuple(classes)
        if self.use_class_overrides and self.class_overrides:
            self._prompt_text = apply_class_overrides(classes,
                                                      self.class_overrides)
        self._caption_prompt = None
        if self.use_caption_prompt and self.odinw_caption_prompt is not None:
            self._caption_prompt = normalize_caption_prompt(
                self.odinw_caption_prompt, classes)

        name2id = {c['name']: c['id'] for c in coco['categories']}
        self.cat_ids = [name2id[c] for c in classes]
        self.cat2label = {cid: i for i, cid in enumerate(self.cat_ids)}
        anns_of: Dict[object, List[dict]] = {}
        cat_img_map: Dict[object, List[object]] = {
            c['id']: []
            for c in coco['categories']
        }
        for ann in coco['annotations']:
            anns_of.setdefault(ann['image_id'], []).append(ann)
            cat_img_map[ann['category_id']].append(ann['image_id'])
        self.cat_img_map = cat_img_map

        fixes = report.box_fixes
        data_list = []
        for img in coco['images']:
            raw_img = dict(img, img_id=img['id'])
            raw_anns = []
            for ann in anns_of.get(img['id'], []):
                if ann.get('id') in fixes:
                    fixed = fixes[ann['id']]
                    if fixed is None:
                        continue
                    ann = dict(ann, bbox=fixed)
                if 'area' not in ann or ann.get('id') in fixes:
                    ann = dict(ann, area=ann['bbox'][2] * ann['bbox'][3])
                raw_anns.append(ann)
            data_list.append(
                self.parse_data_info(
                    dict(raw_ann_info=raw_anns, raw_img_info=raw_img)))
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        data_info = super().parse_data_info(raw_data_info)
        if self.return_classes:
            data_info['text'] = self._prompt_text
            data_info['caption_prompt'] = copy.deepcopy(self._caption_prompt)
        return data_info


# ---------------------------------------------------------------- the tasks
#: The 13 ODinW tasks: official name -> config file stem under
#: ``configs/_base_/datasets/odinw/``.
ODINW13_TASKS = {
    'AerialMaritimeDrone': 'aerial_maritime_drone',
    'Aquarium': 'aquarium',
    'CottontailRabbits': 'cottontail_rabbits',
    'EgoHands': 'ego_hands',
    'NorthAmericaMushrooms': 'north_america_mushrooms',
    'Packages': 'packages',
    'PascalVOC': 'pascal_voc',
    'pistols': 'pistols',
    'pothole': 'pothole',
    'Raccoon': 'raccoon',
    'ShellfishOpenImages': 'shellfish_open_images',
    'thermalDogsAndPeople': 'thermal_dogs_and_people',
    'VehiclesOpenImages': 'vehicles_open_images',
}

_WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')


def odinw_config_path(task: str, config_dir: Optional[str] = None) -> str:
    """Path of a task's dataset config (official name or file stem)."""
    stem = ODINW13_TASKS.get(task, task)
    if stem not in ODINW13_TASKS.values():
        raise KeyError(f'unknown ODinW task {task!r}; the 13 tasks are '
                       f'{list(ODINW13_TASKS)}.')
    if config_dir is None:
        pkg = osp.dirname(osp.dirname(osp.abspath(__file__)))
        rel = osp.join('configs', '_base_', 'datasets', 'odinw')
        config_dir = osp.join(osp.dirname(pkg), rel)  # source checkout
        if not osp.isdir(config_dir):  # installed package (mim layout)
            config_dir = osp.join(pkg, '.mim', rel)
    return osp.join(config_dir, stem + '.py')


def _inner_dataset(dataset_cfg):
    """The dataset dict under Repeat/ClassBalanced wrappers."""
    while isinstance(dataset_cfg, dict) and 'dataset' in dataset_cfg and (
            str(dataset_cfg.get('type', '')).split('.')[-1] in _WRAPPERS):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def configure_odinw(cfg,
                    odinw_root: Optional[str] = None,
                    use_caption_prompt: Optional[bool] = None,
                    use_class_overrides: Optional[bool] = None):
    """Re-derive an ODinW config's paths and prompt switches from its
    top-level options, after ``--cfg-options`` or an inheriting config
    changed them.

    mmengine evaluates a config file once, so setting ``odinw_root`` (or
    ``use_caption_prompt``) on the command line does not rewrite the
    ``data_root`` values computed from it. This does: each dataloader's
    dataset gets ``data_root = odinw_root + odinw_task_root`` and the
    switches, each evaluator ``ann_file`` follows its dataloader. Arguments
    given here win over the config's top-level values (and are stored back).

    Returns:
        the same ``cfg`` (changed in place).
    """
    if 'odinw_task_root' not in cfg:
        raise KeyError(
            'not an ODinW config: it has no `odinw_task_root` (inherit from '
            'configs/_base_/datasets/odinw/<task>.py)')
    if odinw_root is not None:
        cfg.odinw_root = odinw_root
    if use_caption_prompt is not None:
        cfg.use_caption_prompt = use_caption_prompt
    if use_class_overrides is not None:
        cfg.use_class_overrides = use_class_overrides
    root = cfg.odinw_root
    if root and not root.endswith('/'):
        root = root + '/'
    data_root = root + cfg.odinw_task_root
    cfg.data_root = data_root
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        ds = _inner_dataset(loader['dataset'])
        ds['data_root'] = data_root
        for key in ('use_caption_prompt', 'use_class_overrides'):
            if key in cfg:
                ds[key] = cfg[key]
        if split != 'train':
            evaluator = cfg.get(f'{split}_evaluator')
            if isinstance(evaluator, dict) and 'ann_file' in evaluator:
                evaluator['ann_file'] = data_root + ds['ann_file']
    return cfg


def apply_fewshot(cfg,
                  shots: Optional[int],
                  seed: int,
                  out_dir: Optional[str] = None,
                  fewshot_val: bool = True,
                  prepare: bool = True):
    """Point an ODinW config's train (and val) data at the k-shot split.

    The split files are written (or reused) by
    :func:`mmglip.datasets.fewshot.prepare_fewshot_split` next to each
    split's annotation file, or in ``out_dir``. ``shots=None`` (full data)
    leaves the config alone. The test split is never subsampled.

    Returns:
        the same ``cfg`` (changed in place).
    """
    from .fewshot import prepare_fewshot_split
    if shots is None:
        return cfg
    parts = [('train', 'train')] + ([('val', 'val')] if fewshot_val else [])
    for loader_key, split in parts:
        ds = _inner_dataset(cfg[f'{loader_key}_dataloader']['dataset'])
        ann_file = osp.join(ds.get('data_root', ''), ds['ann_file'])
        if prepare:
            path = prepare_fewshot_split(ann_file, shots, seed,
                                         out_dir=out_dir, split=split)
        else:
            from .fewshot import fewshot_file_name
            path = osp.join(out_dir or osp.dirname(ann_file),
                            fewshot_file_name(split, shots, seed))
        rel = osp.relpath(path, ds.get('data_root') or '.') \
            if not out_dir else osp.abspath(path)
        ds['ann_file'] = rel
        if loader_key == 'val':
            for ev_key in ('val_evaluator', ):
                ev = cfg.get(ev_key)
                if isinstance(ev, dict) and 'ann_file' in ev:
                    ev['ann_file'] = path
    return cfg
