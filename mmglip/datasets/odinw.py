"""ODinW datasets: a checked COCO dataset that finds a task's files itself.

:class:`ODinWDataset` is mmdet's ``CocoDataset`` with four differences:

* given a task (``task=dict(root=..., classes=..., val_split=...)``), a
  ``split`` role (``'train'`` / ``'val'`` / ``'test'``) and the ODinW root as
  ``data_root``, it derives ``ann_file`` and the image folder from the
  official layout (:func:`odinw_split_files`), and with ``fewshot=dict(
  shots=k, seed=s)`` reads the k-shot file of that split, written on first
  use (:func:`mmglip.datasets.kshot.prepare_fewshot_split`); the annotation
  file it reads is in its ``metainfo['ann_file']``, where
  ``mmglip.DatasetCocoMetric`` finds its ground truth;

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
  :mod:`mmglip.text.caption_prompt`. The caption prompt reaches the model as
  the sample's ``caption_prompt`` meta key (list form), the overrides as its
  ``text``.
"""
import copy
import json
import logging
import os.path as osp
import warnings
from typing import Dict, List, Optional, Tuple

from mmdet.datasets import CocoDataset
from mmengine.fileio import get_local_path
from mmengine.logging import print_log

from mmglip.registry import DATASETS
from mmglip.errors import UserError, did_you_mean
from mmglip.utils.io import package_data_path
from mmglip.odinw_tasks import ODINW_TASKS
from ..text import apply_class_overrides, normalize_caption_prompt
from .validation import WARNING, ODinWDataError, fix_box, validate_coco


class ODinWDataWarning(UserWarning):
    """Boxes clipped or dropped while loading an annotation file."""


class ODinWConfigError(UserError, ValueError):
    """An ODinW task, split role or k-shot setting that cannot be used."""


#: the facts of an ODinW task (``ODinWDataset(task=...)``) and their
#: defaults; a task config (configs/_base_/datasets/odinw/) sets them
TASK_KEYS = dict(
    name=None,  # the official task name (for messages and reports)
    root='',  # the task folder, relative to the ODinW root (data_root)
    classes=None,  # default: the annotation file's categories
    val_split='valid',  # the folder of the val role (EgoHands: mini_val)
    test_split='test',  # the folder of the test role (PascalVOC: valid)
    one_folder=False,  # pistols: <split>_annotations... beside all images
    caption_prompt=None,  # ODinW-35 per-class prefix / name / suffix
    class_overrides=None,  # {file class name: name shown in the prompt}
)
#: the roles a dataset plays (``ODinWDataset(split=...)``)
SPLIT_ROLES = ('train', 'val', 'test')
ANN_NAME = 'annotations_without_background.json'
FEWSHOT_KEYS = ('shots', 'seed', 'out_dir')


def check_task(task) -> dict:
    """``task`` with the defaults of :data:`TASK_KEYS` filled in; an
    unknown key or a task that is not a dict is an ODinWConfigError."""
    if not isinstance(task, dict):
        raise ODinWConfigError(
            f'ODinWDataset: task={task!r}: give a dict of the task\'s facts '
            f'({", ".join(TASK_KEYS)}).')
    for key in task:
        if key not in TASK_KEYS:
            raise ODinWConfigError(
                f'ODinWDataset: task key {key!r} is unknown'
                f'{did_you_mean(key, TASK_KEYS)}; the keys are '
                f'{", ".join(TASK_KEYS)}.')
    return {**TASK_KEYS, **task}


def odinw_split_files(task: dict, split: str) -> Tuple[str, str]:
    """The annotation file and image folder of a task's ``split`` role
    (``'train'``, ``'val'``, ``'test'``), relative to the ODinW root, in the
    official layout: ``<root>/<folder>/annotations_without_background.json``
    with the images in ``<root>/<folder>/``, where ``<folder>`` is ``train``
    or the task's ``val_split`` / ``test_split``; with ``one_folder``:
    ``<root>/<folder>_annotations_without_background.json`` beside all the
    images in ``<root>``."""
    task = check_task(task)
    if split not in SPLIT_ROLES:
        name = task['name'] or task['root']
        raise ODinWConfigError(
            f'ODinWDataset: split={split!r} (task {name!r}): use \'train\', '
            '\'val\' or \'test\' (the task\'s val_split / test_split name '
            'their folders).')
    folder = 'train' if split == 'train' else task[f'{split}_split']
    root = task['root'] or ''
    if task['one_folder']:
        return osp.join(root, f'{folder}_{ANN_NAME}'), osp.join(root, '')
    return osp.join(root, folder, ANN_NAME), osp.join(root, folder, '')


@DATASETS.register_module()
class ODinWDataset(CocoDataset):
    """COCO-format detection dataset with load-time checks and prompt options.

    Args:
        task (dict, optional): an ODinW task's facts (:data:`TASK_KEYS`:
            ``root`` under ``data_root``, ``classes``, ``val_split``, ...).
            With it the dataset derives ``ann_file`` and the image folder
            (:func:`odinw_split_files`; do not give them), its classes
            default to the task's, its caption prompt / class overrides
            to the task's.
        split (str, optional): the role with ``task``: ``'train'``,
            ``'val'`` or ``'test'``.
        fewshot (dict, optional): ``dict(shots=k, seed=s[, out_dir=D])``:
            read the k-shot sample of the split (train or val role; the
            official sampler, :mod:`mmglip.datasets.kshot`), written on
            first use next to the split's annotation file or in ``D``, and
            reused afterwards. ``shots=None``: the full split.
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
                 task: Optional[dict] = None,
                 split: Optional[str] = None,
                 fewshot: Optional[dict] = None,
                 caption_prompt=None,
                 use_caption_prompt: bool = True,
                 class_overrides: Optional[Dict[str, str]] = None,
                 use_class_overrides: bool = True,
                 check_images: bool = True,
                 check_image_sizes: bool = False,
                 **kwargs) -> None:
        self.task = None
        if task is not None:
            self.task = check_task(task)
            if kwargs.get('ann_file'):
                raise ODinWConfigError(
                    f'ODinWDataset: ann_file={kwargs["ann_file"]!r} given '
                    'with task: the task\'s files are derived from its root '
                    'and split; give one or the other.')
            ann_file, img_dir = odinw_split_files(self.task, split)
            kwargs['ann_file'] = ann_file
            kwargs['data_prefix'] = dict(kwargs.get('data_prefix') or {},
                                         img=img_dir)
            metainfo = dict(kwargs.get('metainfo') or {})
            if metainfo.get('classes') is None and self.task['classes']:
                metainfo['classes'] = tuple(self.task['classes'])
            kwargs['metainfo'] = metainfo
            if caption_prompt is None:
                caption_prompt = self.task['caption_prompt']
            if class_overrides is None:
                class_overrides = self.task['class_overrides']
        if fewshot is not None:
            kwargs['ann_file'] = self._fewshot_file(
                fewshot, split, kwargs.get('data_root') or '',
                kwargs.get('ann_file', ''))
        self.split = split
        self.fewshot = fewshot
        self.odinw_caption_prompt = caption_prompt
        self.use_caption_prompt = use_caption_prompt
        self.class_overrides = class_overrides
        self.use_class_overrides = use_class_overrides
        self.check_images = check_images
        self.check_image_sizes = check_image_sizes
        self.validation_report = None
        super().__init__(*args, **kwargs)
        # the ground truth of mmglip.DatasetCocoMetric
        self._metainfo['ann_file'] = self.ann_file

    @staticmethod
    def _fewshot_file(fewshot, split, data_root: str, ann_file: str) -> str:
        """The k-shot file of ``fewshot`` (absolute path), written on first
        use; ``shots=None``: ``ann_file`` itself."""
        where = f'ODinWDataset fewshot={fewshot!r}'
        if not isinstance(fewshot, dict):
            raise ODinWConfigError(
                f'{where}: give dict(shots=k, seed=s[, out_dir=D]).')
        for key in fewshot:
            if key not in FEWSHOT_KEYS:
                raise ODinWConfigError(
                    f'{where}: key {key!r} is unknown'
                    f'{did_you_mean(key, FEWSHOT_KEYS)}; the keys are '
                    f'{", ".join(FEWSHOT_KEYS)}.')
        if fewshot.get('shots') is None:
            return ann_file
        if split not in ('train', 'val'):
            raise ODinWConfigError(
                f'{where}: split={split!r}; only the train and val splits '
                'are sampled (the test split is always used whole).')
        if fewshot.get('seed') is None:
            raise ODinWConfigError(
                f'{where}: no seed; the official seeds are 3, 30 and 300.')
        from .kshot import prepare_fewshot_split
        full = ann_file if osp.isabs(ann_file) else osp.join(
            data_root, ann_file)
        try:
            path = prepare_fewshot_split(full, fewshot['shots'],
                                         fewshot['seed'],
                                         out_dir=fewshot.get('out_dir'),
                                         split=split)
        except ValueError as exc:
            raise ODinWConfigError(f'{where}: {exc}') from exc
        return osp.abspath(path)

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

        data_list = []
        for img in coco['images']:
            raw_img = dict(img, img_id=img['id'])
            raw_anns = []
            for ann in anns_of.get(img['id'], []):
                # boxes clipped or dropped as the checks said (fix_box)
                fixed, change = fix_box(ann['bbox'], img['width'],
                                        img['height'])
                if change is not None:
                    if fixed is None:
                        continue
                    ann = dict(ann, bbox=fixed)
                if 'area' not in ann or change is not None:
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
def odinw_config_path(task: str, config_dir: Optional[str] = None) -> str:
    """Path of a task's dataset config (official name or file stem, see
    :data:`mmglip.odinw_tasks.ODINW_TASKS`), in the source tree's or the
    installed package's ``configs/_base_/datasets/odinw/``."""
    stem = ODINW_TASKS.get(task, task)
    if stem not in ODINW_TASKS.values():
        raise ODinWConfigError(
            f'unknown ODinW task {task!r}{did_you_mean(task, ODINW_TASKS)};'
            f' the 13 tasks are {", ".join(ODINW_TASKS)}.')
    if config_dir is None:
        config_dir = str(
            package_data_path('configs', '_base_', 'datasets', 'odinw'))
    return osp.join(config_dir, stem + '.py')
