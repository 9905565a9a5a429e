"""Checks of COCO-style detection annotations (the ODinW layout).

:func:`validate_coco` looks at one annotation dict (a COCO json already
loaded) and returns a :class:`ValidationReport`: every problem found, each
naming the file, the image, the annotation id and the offending value, and
saying what mmglip does about it or what the user should do. The report
types (:class:`ValidationReport`, :class:`DataIssue`,
:class:`ODinWDataError`, the levels) live in
:mod:`mmglip.datasets.validation_report` and are importable from here too.
These checks run when a dataset is built
(:class:`~mmglip.datasets.ODinWDataset`), after an ODinW download
(:func:`mmglip.datasets.odinw_download.download_odinw`) and in the offline
tools.

What is an error and what is a warning (the policy used everywhere: the
converters, :class:`~mmglip.datasets.ODinWDataset` and
``tools/dataset_converters/check_odinw.py``):

errors (nothing is loaded; fix the data or the config)
    * the file is not a COCO detection dict (``images`` / ``annotations`` /
      ``categories`` lists missing);
    * an image listed in the json is missing on disk (the full path is
      named);
    * an image entry without ``file_name`` / ``width`` / ``height``, or with
      a non-positive size; duplicate image ids; duplicate annotation ids;
    * an annotation whose ``image_id`` or ``category_id`` is not in the file,
      or whose ``bbox`` is not four finite numbers;
    * duplicate category ids or names;
    * a class of the config that the file does not have (the file's
      categories are listed), or config classes in another order than the
      file's categories (mmdet's CocoMetric maps labels to category ids in
      the file's order, so the prompt and the evaluation would disagree);
    * with ``check_image_sizes=True``: an image that cannot be decoded
      (truncated, cut short, not an image at all: every such file is
      listed, with the decoder's reason), or whose real size differs from
      the json's ``width`` / ``height`` (boxes would not line up). Each
      image is decoded in full, as training and evaluation will: reading
      the header alone (the size) lets a truncated JPEG through.

warnings (loading goes on; the box is fixed or left out, and named)
    * a box partly outside the image: clipped to the image;
    * a box of zero or negative width / height, a box entirely outside the
      image, or one less than 1 px wide or high once clipped: dropped
      (mmdet's CocoDataset leaves such boxes out silently; here they are
      named). Evaluation reads the annotation file itself, as the official
      benchmark does, so the file is never changed;
    * annotation id 0: pycocotools' COCOeval records a match as the matched
      ground-truth id, so a detection matched to id 0 counts as a false
      positive. Re-number the annotations from 1.
"""
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmglip.utils.images import ImageError, image_size
from .validation_report import (ERROR, WARNING, DataIssue, ODinWDataError,
                                ValidationReport)

#: boxes overshooting the image by at most this many pixels are clipped
#: without a warning (floating point round-off of normalised coordinates).
CLIP_TOLERANCE = 1e-3


def _finite_numbers(values, n) -> bool:
    if not isinstance(values, (list, tuple)) or len(values) != n:
        return False
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
        if not math.isfinite(v):
            return False
    return True


def _is_remote(path: str) -> bool:
    return '://' in str(path)


def validate_coco(coco: dict,
                  ann_file: str = '<annotations>',
                  img_dir: Optional[str] = None,
                  classes: Optional[Sequence[str]] = None,
                  check_images: bool = True,
                  check_image_sizes: bool = False) -> ValidationReport:
    """Check a COCO detection dict; see the module docstring for the policy.
    The rules run in order - the file's structure, its categories, the
    config's classes against them, the images, the annotations - each a
    function of its own below that adds its issues to the report.

    Args:
        coco: the loaded annotation json.
        ann_file: its path, used in the messages.
        img_dir: the folder the images' ``file_name`` are relative to;
            ``None`` skips the checks on disk.
        classes: the class names the config asks for (``metainfo.classes``);
            ``None`` skips the class checks.
        check_images: check that every image exists on disk.
        check_image_sizes: also decode each image in full (an image that
            cannot be decoded is an error naming it and the reason) and
            compare its size with the json's ``width`` / ``height``
            (slower: about as long as loading the dataset once).
    """
    report = ValidationReport(str(ann_file))
    if not check_structure(report, coco):
        return report
    cats, names = check_categories(report, coco['categories'])
    if classes is not None:
        check_classes(report, list(classes), cats, names)
    on_disk = (img_dir is not None and (check_images or check_image_sizes)
               and not _is_remote(img_dir))
    images = check_images_of(report, coco['images'],
                             img_dir if on_disk else None, check_image_sizes)
    check_annotations(report, coco['annotations'], images, cats)
    return report


def check_structure(report: ValidationReport, coco) -> bool:
    """The file is a COCO detection dict: ``images``, ``annotations`` and
    ``categories`` lists (error ``not_coco``). Returns whether it is."""
    if isinstance(coco, dict) and all(
            isinstance(coco.get(k), list)
            for k in ('images', 'annotations', 'categories')):
        return True
    keys = sorted(coco) if isinstance(coco, dict) else type(coco).__name__
    report.add(ERROR, 'not_coco',
               f'{report.ann_file} is not a COCO detection file: it needs '
               'the lists "images", "annotations" and "categories" (found '
               f'{keys}).')
    return False


def check_categories(report: ValidationReport, categories: Sequence[dict]
                     ) -> Tuple[Dict[object, str], List[str]]:
    """Category ids and names are unique (errors ``duplicate_category_id``,
    ``duplicate_category_name``). Returns the names by id and the names in
    the file's order."""
    ann_file = report.ann_file
    cats: Dict[object, str] = {}
    names_seen: Dict[str, object] = {}
    for cat in categories:
        cid, name = cat.get('id'), cat.get('name')
        if cid in cats:
            report.add(ERROR, 'duplicate_category_id',
                       f'{ann_file}: category id {cid} appears twice '
                       f'({cats[cid]!r} and {name!r}); give each category '
                       'its own id.', value=cid)
        if name in names_seen:
            report.add(
                ERROR, 'duplicate_category_name',
                f'{ann_file}: category name {name!r} is used by ids '
                f'{names_seen[name]} and {cid}; class names must be unique '
                '(a Roboflow background super-category? convert the export '
                'with tools/dataset_converters/to_odinw.py --format '
                'roboflow-coco).', value=name)
        cats[cid] = name
        names_seen.setdefault(name, cid)
    return cats, list(names_seen)


def _describe(cats: Dict[object, str]) -> str:
    return ', '.join(f'{n!r} (id {i})' for i, n in cats.items())


def check_classes(report: ValidationReport, classes: List[str],
                  cats: Dict[object, str], names: List[str]) -> None:
    """The config's classes are categories of the file, each once, in the
    file's order (errors ``duplicate_class``, ``class_absent``,
    ``class_order``: mmdet's CocoMetric maps labels to category ids in the
    file's order)."""
    ann_file, file_cats = report.ann_file, _describe(cats)
    dup = sorted({c for c in classes if classes.count(c) > 1})
    if dup:
        report.add(ERROR, 'duplicate_class',
                   f'the config lists the class(es) {dup} more than once; '
                   f'{ann_file} has the categories: {file_cats}.', value=dup)
    missing = [c for c in classes if c not in names]
    if missing:
        close = {
            c: [n for n in names if n.lower() == str(c).lower()]
            for c in missing
        }
        hint = '; '.join(f'{c!r} differs only in case from {v[0]!r}'
                         for c, v in close.items() if v)
        report.add(
            ERROR, 'class_absent',
            f'the config class(es) {missing} are not categories of '
            f'{ann_file}, which has: {file_cats}. Use these names in '
            'metainfo.classes (a class shown under another name in the '
            'prompt goes in class_overrides instead)'
            + (f' ({hint})' if hint else '') + '.', value=missing)
        return
    order = [n for n in names if n in set(classes)]
    if order != classes and not dup:
        report.add(ERROR, 'class_order',
                   f'the config classes {classes} are in another order than '
                   f'the categories of {ann_file} ({order}); mmdet\'s '
                   'CocoMetric maps labels to category ids in the file\'s '
                   'order, so list the classes in that order.', value=classes)


def check_images_of(report: ValidationReport, entries: Sequence[dict],
                    img_dir: Optional[str],
                    decode: bool = False) -> Dict[object, dict]:
    """Image entries: unique ids, a ``file_name``, a positive size (errors
    ``duplicate_image_id``, ``bad_image``); with ``img_dir`` the file
    exists (``missing_image``); with ``decode`` it decodes in full and has
    the json's size (``unreadable_image``, ``image_size``). Returns the
    entries by id."""
    ann_file = report.ann_file
    images: Dict[object, dict] = {}
    for img in entries:
        iid = img.get('id')
        fname = img.get('file_name')
        label = f'image id {iid} ({fname!r})'
        if iid in images:
            report.add(ERROR, 'duplicate_image_id',
                       f'{ann_file}: image id {iid} appears twice '
                       f'({images[iid].get("file_name")!r} and {fname!r}).',
                       image=fname, value=iid)
            continue
        images[iid] = img
        if not fname:
            report.add(ERROR, 'bad_image',
                       f'{ann_file}: {label} has no file_name.', value=iid)
            continue
        w, h = img.get('width'), img.get('height')
        if not (_finite_numbers([w, h], 2) and w > 0 and h > 0):
            report.add(ERROR, 'bad_image',
                       f'{ann_file}: {label} has width={w!r}, height={h!r}; '
                       'give the image size in pixels (the converters read '
                       'it from the image).', image=fname, value=(w, h))
            continue
        if img_dir is not None:
            _check_image_file(report, osp.join(img_dir, fname), label, fname,
                              (w, h), decode)
    return images


def _check_image_file(report, path, label, fname, size, decode) -> None:
    ann_file = report.ann_file
    if not osp.isfile(path):
        report.add(ERROR, 'missing_image',
                   f'{ann_file}: {label} is missing on disk: {path} does not '
                   'exist. Restore the file, or check data_root / '
                   'data_prefix (the images of a split lie next to its '
                   'annotation file in the ODinW layout).', image=fname,
                   value=path)
        return
    if not decode:
        return
    try:
        real = image_size(path, decode=True)
    except ImageError as exc:
        report.add(ERROR, 'unreadable_image',
                   f'{ann_file}: {label}: {path} cannot be decoded '
                   f'({exc.reason}); training and evaluation would stop '
                   'there. Replace the file (download or export it again) '
                   'or remove the image and its annotations from the json.',
                   image=fname, value=path)
        return
    if tuple(real) != tuple(size):
        report.add(ERROR, 'image_size',
                   f'{ann_file}: {label} is {real[0]}x{real[1]} on disk but '
                   f'{size[0]}x{size[1]} in the json: the image was resized '
                   'or rotated after annotation, so its boxes do not line '
                   'up; re-export or re-convert the dataset.', image=fname,
                   value=(real, tuple(size)))


def check_annotations(report: ValidationReport, annotations: Sequence[dict],
                      images: Dict[object, dict],
                      cats: Dict[object, str]) -> None:
    """Annotations: unique ids (error), id 0 (warning
    ``annotation_id_0``), a known image and category, a bbox of four finite
    numbers (errors), and the box against its image (:func:`fix_box`:
    warnings for the boxes clipped or dropped when loaded)."""
    ann_file = report.ann_file
    ann_ids = set()
    for ann in annotations:
        aid = ann.get('id')
        iid = ann.get('image_id')
        img = images.get(iid)
        fname = img.get('file_name') if img else None
        where = f'{ann_file}: annotation id {aid} (image id {iid}' + (
            f', {fname!r})' if fname else ')')
        if aid in ann_ids:
            report.add(ERROR, 'duplicate_annotation_id',
                       f'{where}: the annotation id is used twice; give each '
                       'annotation its own id.', image=fname, ann_id=aid,
                       value=aid)
        ann_ids.add(aid)
        if aid == 0:
            report.add(WARNING, 'annotation_id_0',
                       f'{where}: annotation id 0: pycocotools\' COCOeval '
                       'takes id 0 for "unmatched", so detections matched to '
                       'it count as false positives. Re-number the '
                       'annotations from 1.', image=fname, ann_id=aid,
                       value=aid)
        if img is None:
            report.add(ERROR, 'unknown_image',
                       f'{where}: image id {iid} is not in "images".',
                       ann_id=aid, value=iid)
            continue
        if ann.get('category_id') not in cats:
            report.add(ERROR, 'unknown_category',
                       f'{where}: category_id {ann.get("category_id")!r} is '
                       f'not in "categories" ({_describe(cats)}).',
                       image=fname, ann_id=aid, value=ann.get('category_id'))
            continue
        bbox = ann.get('bbox')
        if not _finite_numbers(bbox, 4):
            report.add(ERROR, 'bad_bbox',
                       f'{where}: bbox {bbox!r} is not four finite numbers '
                       '[x, y, width, height].', image=fname, ann_id=aid,
                       value=bbox)
            continue
        if not isinstance(img.get('width'), (int, float)) or not isinstance(
                img.get('height'), (int, float)):
            continue  # reported with the image
        _report_box(report, where, fname, aid, bbox, img['width'],
                    img['height'])


def fix_box(bbox: Sequence[float], width: float, height: float
            ) -> Tuple[Optional[List[float]], Optional[str]]:
    """What loading does with a COCO ``[x, y, w, h]`` box in a ``width`` x
    ``height`` image: ``(box, None)`` kept as it is; ``(clipped, kind)``
    clipped to the image (kind ``box_clipped``); ``(None, kind)`` dropped
    (``zero_area``: zero or negative size, ``box_outside``: wholly outside,
    ``tiny_box``: under 1 px wide or high once clipped). The one rule that
    both the checks (which name the box) and
    :class:`~mmglip.datasets.ODinWDataset` (which applies it) use."""
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        return None, 'zero_area'
    x1, y1 = max(x, 0.0), max(y, 0.0)
    x2, y2 = min(x + w, width), min(y + h, height)
    if x2 - x1 < 1 or y2 - y1 < 1:
        inside = x2 > x1 and y2 > y1
        return None, 'tiny_box' if inside else 'box_outside'
    if max(-x, -y, x + w - width, y + h - height) > 0:
        return [x1, y1, x2 - x1, y2 - y1], 'box_clipped'
    return list(bbox), None


def _report_box(report, where, fname, aid, bbox, width, height) -> None:
    """The warning for a box that :func:`fix_box` changes (a clip within
    :data:`CLIP_TOLERANCE`, float round-off, is silent)."""
    fixed, kind = fix_box(bbox, width, height)
    if kind is None:
        return
    if kind == 'zero_area':
        text = (f'bbox {list(bbox)} has zero or negative width/height; '
                'dropped when loaded.')
    elif kind in ('box_outside', 'tiny_box'):
        text = (f'bbox {list(bbox)} in a {width}x{height} image '
                + ('lies outside the image' if kind == 'box_outside' else
                   'is less than 1 px wide or high inside the image')
                + '; dropped when loaded.')
    else:
        x, y, w, h = bbox
        if max(-x, -y, x + w - width, y + h - height) <= CLIP_TOLERANCE:
            return
        text = (f'bbox {list(bbox)} reaches outside the {width}x{height} '
                f'image; clipped to {[round(v, 3) for v in fixed]} when '
                'loaded.')
    report.add(WARNING, kind, f'{where}: {text}', image=fname, ann_id=aid,
               value=list(bbox))


def load_and_validate(ann_file: str,
                      img_dir: Optional[str] = None,
                      classes: Optional[Sequence[str]] = None,
                      **kwargs) -> ValidationReport:
    """Read a json file and :func:`validate_coco` it (an unreadable or
    malformed file is an error in the report)."""
    import json
    report = ValidationReport(str(ann_file))
    if not osp.isfile(ann_file):
        report.add(ERROR, 'missing_ann_file',
                   f'annotation file {ann_file} does not exist.',
                   value=ann_file)
        return report
    try:
        with open(ann_file, encoding='utf-8') as f:
            coco = json.load(f)
    except (OSError, ValueError) as exc:
        report.add(ERROR, 'bad_json',
                   f'{ann_file} cannot be read as json: {exc}.',
                   value=ann_file)
        return report
    return validate_coco(coco, ann_file, img_dir, classes, **kwargs)


__all__ = [
    'DataIssue', 'ValidationReport', 'ODinWDataError', 'validate_coco',
    'load_and_validate', 'fix_box', 'ERROR', 'WARNING', 'CLIP_TOLERANCE'
]
