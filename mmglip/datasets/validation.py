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
(:func:`mmglip.zoo.odinw_data.download_odinw`) and in the offline tools.

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
from typing import Dict, Optional, Sequence, Tuple

from mmglip.utils.images import ImageError, check_image_file, decode_failure
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


def image_size(path: str, decode: bool = False) -> Tuple[int, int]:
    """(width, height) of an image file as loaders see it: EXIF
    orientations 5-8 (rotations by 90 degrees) swap the two.

    Args:
        path: the image file.
        decode: decode the whole image first
            (:func:`~mmglip.utils.images.check_image_file`), so that a
            truncated file is caught; by default only the header is read,
            which a JPEG cut short still passes.

    Raises:
        ImageError: the file is missing or cannot be read as an image (with
            ``decode=True`` also: its data ends early), naming it.
    """
    from PIL import Image
    if decode:
        check_image_file(path)
    elif not osp.isfile(path):
        raise ImageError(path, 'no such file')
    try:
        with Image.open(path) as img:
            width, height = img.size
            try:
                orientation = img.getexif().get(0x0112, 1)
            except Exception:  # noqa: BLE001 (broken EXIF: ignore it)
                orientation = 1
    except Exception as exc:  # noqa: BLE001 (named below)
        raise decode_failure(path, exc) from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height


def _is_remote(path: str) -> bool:
    return '://' in str(path)


def validate_coco(coco: dict,
                  ann_file: str = '<annotations>',
                  img_dir: Optional[str] = None,
                  classes: Optional[Sequence[str]] = None,
                  check_images: bool = True,
                  check_image_sizes: bool = False) -> ValidationReport:
    """Check a COCO detection dict; see the module docstring for the policy.

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
    add = report.add
    if not isinstance(coco, dict) or not all(
            isinstance(coco.get(k), list)
            for k in ('images', 'annotations', 'categories')):
        keys = sorted(coco) if isinstance(coco, dict) else type(coco).__name__
        add(ERROR, 'not_coco',
            f'{ann_file} is not a COCO detection file: it needs the lists '
            f'"images", "annotations" and "categories" (found {keys}).')
        return report

    # ------------------------------------------------------------ categories
    cats: Dict[object, str] = {}
    names_seen: Dict[str, object] = {}
    for cat in coco['categories']:
        cid, name = cat.get('id'), cat.get('name')
        if cid in cats:
            add(ERROR, 'duplicate_category_id',
                f'{ann_file}: category id {cid} appears twice '
                f'({cats[cid]!r} and {name!r}); give each category its own '
                'id.', value=cid)
        if name in names_seen:
            add(ERROR, 'duplicate_category_name',
                f'{ann_file}: category name {name!r} is used by ids '
                f'{names_seen[name]} and {cid}; class names must be unique '
                '(a Roboflow background super-category? convert the export '
                'with tools/dataset_converters/to_odinw.py --format '
                'roboflow-coco).', value=name)
        cats[cid] = name
        names_seen.setdefault(name, cid)
    file_cats = ', '.join(f'{n!r} (id {i})' for i, n in cats.items())
    if classes is not None:
        classes = list(classes)
        dup = sorted({c for c in classes if classes.count(c) > 1})
        if dup:
            add(ERROR, 'duplicate_class',
                f'the config lists the class(es) {dup} more than once; '
                f'{ann_file} has the categories: {file_cats}.', value=dup)
        missing = [c for c in classes if c not in names_seen]
        if missing:
            close = {
                c: [n for n in names_seen if n.lower() == str(c).lower()]
                for c in missing
            }
            hint = '; '.join(f'{c!r} differs only in case from {v[0]!r}'
                             for c, v in close.items() if v)
            add(ERROR, 'class_absent',
                f'the config class(es) {missing} are not categories of '
                f'{ann_file}, which has: {file_cats}. Use these names in '
                'metainfo.classes (a class shown under another name in the '
                'prompt goes in class_overrides instead)'
                + (f' ({hint})' if hint else '') + '.', value=missing)
        else:
            order = [n for n in names_seen if n in set(classes)]
            if order != classes and not dup:
                add(ERROR, 'class_order',
                    f'the config classes {classes} are in another order than '
                    f'the categories of {ann_file} ({order}); mmdet\'s '
                    'CocoMetric maps labels to category ids in the file\'s '
                    'order, so list the classes in that order.',
                    value=classes)

    # ---------------------------------------------------------------- images
    images: Dict[object, dict] = {}
    check_disk = (img_dir is not None and (check_images or check_image_sizes)
                  and not _is_remote(img_dir))
    missing_files = []
    for img in coco['images']:
        iid = img.get('id')
        fname = img.get('file_name')
        label = f'image id {iid} ({fname!r})'
        if iid in images:
            add(ERROR, 'duplicate_image_id',
                f'{ann_file}: image id {iid} appears twice '
                f'({images[iid].get("file_name")!r} and {fname!r}).',
                image=fname, value=iid)
            continue
        images[iid] = img
        if not fname:
            add(ERROR, 'bad_image',
                f'{ann_file}: {label} has no file_name.', value=iid)
            continue
        w, h = img.get('width'), img.get('height')
        if not (_finite_numbers([w, h], 2) and w > 0 and h > 0):
            add(ERROR, 'bad_image',
                f'{ann_file}: {label} has width={w!r}, height={h!r}; give '
                'the image size in pixels (the converters read it from the '
                'image).', image=fname, value=(w, h))
            continue
        if not check_disk:
            continue
        path = osp.join(img_dir, fname)
        if not osp.isfile(path):
            missing_files.append(path)
            add(ERROR, 'missing_image',
                f'{ann_file}: {label} is missing on disk: {path} does not '
                'exist. Restore the file, or check data_root / data_prefix '
                '(the images of a split lie next to its annotation file in '
                'the ODinW layout).', image=fname, value=path)
            continue
        if check_image_sizes:
            try:
                real = image_size(path, decode=True)
            except ImageError as exc:
                add(ERROR, 'unreadable_image',
                    f'{ann_file}: {label}: {path} cannot be decoded '
                    f'({exc.reason}); training and evaluation would stop '
                    'there. Replace the file (download or export it again) '
                    'or remove the image and its annotations from the json.',
                    image=fname, value=path)
                continue
            if tuple(real) != (w, h):
                add(ERROR, 'image_size',
                    f'{ann_file}: {label} is {real[0]}x{real[1]} on disk '
                    f'but {w}x{h} in the json: the image was resized or '
                    'rotated after annotation, so its boxes do not line up; '
                    're-export or re-convert the dataset.', image=fname,
                    value=(real, (w, h)))

    # ----------------------------------------------------------- annotations
    ann_ids = set()
    for ann in coco['annotations']:
        aid = ann.get('id')
        iid = ann.get('image_id')
        img = images.get(iid)
        fname = img.get('file_name') if img else None
        where = f'{ann_file}: annotation id {aid} (image id {iid}' + (
            f', {fname!r})' if fname else ')')
        if aid in ann_ids:
            add(ERROR, 'duplicate_annotation_id',
                f'{where}: the annotation id is used twice; give each '
                'annotation its own id.', image=fname, ann_id=aid, value=aid)
        ann_ids.add(aid)
        if aid == 0:
            add(WARNING, 'annotation_id_0',
                f'{where}: annotation id 0: pycocotools\' COCOeval takes id '
                '0 for "unmatched", so detections matched to it count as '
                'false positives. Re-number the annotations from 1.',
                image=fname, ann_id=aid, value=aid)
        if img is None:
            add(ERROR, 'unknown_image',
                f'{where}: image id {iid} is not in "images".', ann_id=aid,
                value=iid)
            continue
        if ann.get('category_id') not in cats:
            add(ERROR, 'unknown_category',
                f'{where}: category_id {ann.get("category_id")!r} is not in '
                f'"categories" ({file_cats}).', image=fname, ann_id=aid,
                value=ann.get('category_id'))
            continue
        bbox = ann.get('bbox')
        if not _finite_numbers(bbox, 4):
            add(ERROR, 'bad_bbox',
                f'{where}: bbox {bbox!r} is not four finite numbers '
                '[x, y, width, height].', image=fname, ann_id=aid,
                value=bbox)
            continue
        if not isinstance(img.get('width'), (int, float)) or not isinstance(
                img.get('height'), (int, float)):
            continue  # reported with the image
        _check_box(report, where, fname, aid, bbox, img['width'],
                   img['height'])
    return report


def _check_box(report, where, fname, aid, bbox, width, height) -> None:
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        report.box_fixes[aid] = None
        report.add(
            WARNING, 'zero_area',
            f'{where}: bbox {list(bbox)} has zero or negative width/height; '
            'dropped when loaded.', image=fname, ann_id=aid,
            value=list(bbox))
        return
    x1, y1 = max(x, 0.0), max(y, 0.0)
    x2, y2 = min(x + w, width), min(y + h, height)
    overshoot = max(-x, -y, x + w - width, y + h - height)
    if x2 - x1 < 1 or y2 - y1 < 1:
        report.box_fixes[aid] = None
        inside = x2 > x1 and y2 > y1
        report.add(
            WARNING, 'box_outside' if not inside else 'tiny_box',
            f'{where}: bbox {list(bbox)} in a {width}x{height} image '
            + ('lies outside the image' if not inside else
               'is less than 1 px wide or high inside the image')
            + '; dropped when loaded.', image=fname, ann_id=aid,
            value=list(bbox))
        return
    if overshoot > 0:
        clipped = [x1, y1, x2 - x1, y2 - y1]
        report.box_fixes[aid] = clipped
        if overshoot > CLIP_TOLERANCE:
            report.add(
                WARNING, 'box_clipped',
                f'{where}: bbox {list(bbox)} reaches outside the '
                f'{width}x{height} image; clipped to '
                f'{[round(v, 3) for v in clipped]} when loaded.',
                image=fname, ann_id=aid, value=list(bbox))


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
    'load_and_validate', 'image_size', 'ERROR', 'WARNING', 'CLIP_TOLERANCE'
]
