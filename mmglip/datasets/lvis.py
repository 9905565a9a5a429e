"""LVIS v1 for GLIP's zero-shot evaluation (v1 ``val`` and MDETR's 5k-image
``minival``), with the data layout checked when the file is loaded.

LVIS annotates COCO 2017 images; an image's ``coco_url``
(``http://images.cocodataset.org/val2017/000000397133.jpg``) names its split
folder, so ``data_prefix.img`` points at the COCO root holding ``train2017/``
and ``val2017/`` (LVIS v1 val draws from both). Without ``coco_url`` the
image's ``file_name`` is taken as it is, relative to the same root.

Classes default to the file's categories in the file's order; labels index
them, and :class:`mmglip.evaluation.LVISFixedAPMetric` maps them back to
category ids by name. What the evaluation needs that plain COCO files lack
(per-category ``frequency`` r/c/f, per-image ``neg_category_ids`` /
``not_exhaustive_category_ids``) is checked here, so a broken file fails at
load time with one line naming it rather than after hours of inference.
"""
import os.path as osp
from typing import Dict, List, Optional

from mmdet.datasets import LVISV1Dataset as MMDetLVISV1Dataset

from mmglip.registry import DATASETS
from mmglip.errors import UserError
from mmglip.utils.images import missing_images
from .annotation_file import finite_box, is_remote, load_annotation_json

#: where the annotation files come from (named by every layout error)
LVIS_SOURCES = (
    'LVIS v1 val: lvis_v1_val.json from https://www.lvisdataset.org/dataset '
    '(https://dl.fbaipublicfiles.com/LVIS/lvis_v1_val.json.zip); GLIP\'s '
    'minival: MDETR\'s lvis_v1_minival_inserted_image_name.json '
    '(https://huggingface.co/GLIPModel/GLIP/resolve/main/'
    'lvis_v1_minival_inserted_image_name.json); put them in data/lvis/')
COCO_SOURCES = ('LVIS images are the COCO 2017 images: train2017/ and '
                'val2017/ from https://cocodataset.org/#download under '
                'data/coco/')
FREQUENCIES = ('r', 'c', 'f')


class LVISDataError(UserError):
    """An LVIS annotation file or image folder that cannot be evaluated; the
    message (one line) names the file, the entry and the value."""


def image_file_name(img: dict) -> Optional[str]:
    """``<split folder>/<file>`` from ``coco_url``, else ``file_name``."""
    url = img.get('coco_url')
    if isinstance(url, str) and url.strip('/'):
        parts = url.rstrip('/').split('/')
        return '/'.join(parts[-2:]) if len(parts) >= 2 else parts[-1]
    name = img.get('file_name')
    return name if isinstance(name, str) and name else None


def _fail(problems: List[str]) -> None:
    if problems:
        more = (f' (and {len(problems) - 1} more problem(s) of this file)'
                if len(problems) > 1 else '')
        raise LVISDataError(problems[0] + more)


def check_lvis(data, ann_file: str) -> None:
    """Raise :class:`LVISDataError` (one line: the first problem and how many
    more) if ``data`` is not an LVIS file the evaluation can use."""
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), list)
            for k in ('images', 'annotations', 'categories')):
        keys = sorted(data) if isinstance(data, dict) else \
            type(data).__name__
        raise LVISDataError(
            f'{ann_file} is not an LVIS annotation file: it needs the lists '
            f'"images", "annotations" and "categories" (found {keys}); '
            f'{LVIS_SOURCES}.')
    problems: List[str] = []
    cats: Dict[object, dict] = {}
    for cat in data['categories']:
        cid = cat.get('id')
        if cid in cats:
            problems.append(f'{ann_file}: category id {cid} appears twice.')
        cats[cid] = cat
        if not isinstance(cat.get('name'), str) or not cat['name']:
            problems.append(f'{ann_file}: category id {cid} has no name.')
        if cat.get('frequency') not in FREQUENCIES:
            problems.append(
                f'{ann_file}: category id {cid} ({cat.get("name")!r}) has '
                f'frequency {cat.get("frequency")!r}; LVIS needs "r", "c" '
                'or "f" (APr / APc / APf group the categories by it).')
    images = {}
    for img in data['images']:
        iid = img.get('id')
        where = f'{ann_file}: image id {iid}'
        if iid in images:
            problems.append(f'{where} appears twice.')
        images[iid] = img
        if image_file_name(img) is None:
            problems.append(f'{where} has neither coco_url nor file_name.')
        w, h = img.get('width'), img.get('height')
        if not (finite_box([w, h, 1, 1]) and w > 0 and h > 0):
            problems.append(f'{where} has width={w!r}, height={h!r}.')
        for key in ('neg_category_ids', 'not_exhaustive_category_ids'):
            ids = img.get(key)
            if not isinstance(ids, list):
                problems.append(
                    f'{where} has no list "{key}" (LVIS\'s federated '
                    'evaluation needs it; a COCO file is not an LVIS file).')
                continue
            absent = [c for c in ids if c not in cats]
            if absent:
                problems.append(
                    f'{where}: {key} holds category id {absent[0]}, which is '
                    'not in "categories".')
    for ann in data['annotations']:
        aid, iid = ann.get('id'), ann.get('image_id')
        where = f'{ann_file}: annotation id {aid} (image id {iid})'
        if iid not in images:
            problems.append(f'{where}: image id {iid} is not in "images".')
        if ann.get('category_id') not in cats:
            problems.append(
                f'{where}: category_id {ann.get("category_id")!r} is not in '
                f'"categories" ({len(cats)} categories).')
        if not finite_box(ann.get('bbox')):
            problems.append(f'{where}: bbox {ann.get("bbox")!r} is not four '
                            'finite numbers [x, y, width, height].')
    _fail(problems)


def check_images_on_disk(data: dict, ann_file: str, img_root: str) -> None:
    """Every image of ``data`` under ``img_root``; one line naming the first
    missing one (or the missing folder) and where to get them."""
    problem = missing_images(
        [osp.join(img_root, image_file_name(img)) for img in data['images']],
        ann_file, f'{COCO_SOURCES}, or set data_root / data_prefix.img')
    if problem:
        raise LVISDataError(problem)


@DATASETS.register_module()
class LVISV1Dataset(MMDetLVISV1Dataset):
    """LVIS v1 (val or minival) as GLIP evaluates it.

    mmdet's ``LVISV1Dataset`` with the classes taken from the file (any LVIS
    -format file, not only the 1203 LVIS v1 names), images found through
    ``coco_url`` under ``data_prefix.img`` (the COCO root), and the file and
    images checked when loaded (:func:`check_lvis`,
    :func:`check_images_on_disk`): errors are :class:`LVISDataError`, one
    line naming the file, the entry and where to get the data.

    Args:
        check_images (bool): check that every image exists on disk.
        **kwargs: as mmdet's ``LVISV1Dataset`` (``return_classes=True`` puts
            the class names into each sample's ``text`` for GLIP).
    """
    METAINFO = dict(classes=None, palette=None)

    def __init__(self, *args, check_images: bool = True, **kwargs) -> None:
        self.check_images = check_images
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        remote = bool(self.backend_args) or is_remote(self.ann_file)
        data = load_annotation_json(self.ann_file, self.backend_args,
                                    LVISDataError, 'LVIS', LVIS_SOURCES)
        check_lvis(data, self.ann_file)
        img_root = self.data_prefix.get('img', '')
        if self.check_images and not remote and not is_remote(img_root):
            check_images_on_disk(data, self.ann_file, img_root)

        name2id = {c['name']: c['id'] for c in data['categories']}
        classes = self._metainfo.get('classes')
        if classes is None:  # the file's categories, in its order
            classes = tuple(c['name'] for c in data['categories'])
            self._metainfo['classes'] = classes
        absent = [c for c in classes if c not in name2id]
        if absent:
            raise LVISDataError(
                f'metainfo.classes {absent[:5]} are not categories of '
                f'{self.ann_file}; leave classes unset to use the file\'s.')
        self.cat_ids = [name2id[c] for c in classes]
        self.cat2label = {cid: i for i, cid in enumerate(self.cat_ids)}

        anns_of: Dict[object, List[dict]] = {}
        self.cat_img_map = {cid: [] for cid in name2id.values()}
        for ann in data['annotations']:
            if 'area' not in ann:
                ann = dict(ann, area=ann['bbox'][2] * ann['bbox'][3])
            anns_of.setdefault(ann['image_id'], []).append(ann)
            self.cat_img_map[ann['category_id']].append(ann['image_id'])
        data_list = []
        for img in data['images']:
            raw_img = dict(img, img_id=img['id'],
                           file_name=image_file_name(img))
            data_list.append(
                self.parse_data_info(
                    dict(raw_img_info=raw_img,
                         raw_ann_info=anns_of.get(img['id'], []))))
        return data_list


__all__ = ['LVISV1Dataset', 'LVISDataError', 'check_lvis',
           'check_images_on_disk', 'image_file_name', 'LVIS_SOURCES']
