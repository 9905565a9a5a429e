"""Writing a converted dataset: all or nothing.

The annotations are checked (:func:`mmglip.datasets.validation.validate_coco`)
and every image to be written must have been decoded before anything is
copied; the splits are written to a temporary folder beside ``DST`` that is
renamed at the end, so a conversion that fails (or is interrupted) leaves
nothing behind.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Optional, Tuple

from mmglip.datasets.validation import validate_coco

from .common import (ANN_NAME, MAX_NAMED_IMAGES, SPLITS, ConversionError,
                     ConversionResult, SourceImage, TaskLayout, check_dst,
                     coco_of)


def write_odinw(dst, fmt, categories,
                splits: Dict[str, List[SourceImage]], split_source, warns,
                notes, link, unreadable: Dict[str, str],
                layout: Optional[TaskLayout] = None) -> ConversionResult:
    out = {}
    for sp in SPLITS:
        if sp not in splits:
            continue
        imgs = splits[sp]
        out[sp] = (coco_of(imgs, categories),
                   [(img.src, img.file_name) for img in imgs])
    return write_files(dst, fmt, categories, out, split_source, warns,
                       notes, link, unreadable, layout)


def _check_decoded(out: Dict[str, Tuple[dict, List[Tuple[str, str]]]],
                   unreadable: Dict[str, str], warns: List[str]) -> None:
    """Refuse to write when an image to be written cannot be decoded,
    naming every such source file (one line: a tool prints it as is)."""
    written = {src for _, files in out.values() for src, _ in files}
    bad = [(p, r) for p, r in unreadable.items() if p in written]
    for p, r in unreadable.items():
        if p not in written:
            warns.append(f'{p} cannot be decoded ({r}); it is in no split, '
                         'so it is not written.')
    if not bad:
        return
    named = '; '.join(f'{p} ({r})' for p, r in bad[:MAX_NAMED_IMAGES])
    more = (f'; ... and {len(bad) - MAX_NAMED_IMAGES} more'
            if len(bad) > MAX_NAMED_IMAGES else '')
    raise ConversionError(
        f'{len(bad)} source image(s) cannot be decoded: {named}{more}. '
        'Nothing was written. Replace these files (download or export them '
        'again) or remove them and their annotations, then convert again.')


def _place(src: str, target: str, link: bool) -> None:
    os.makedirs(osp.dirname(target), exist_ok=True)
    if link:
        try:
            os.link(src, target)
            return
        except OSError:
            pass
    shutil.copy2(src, target)


def _check_layout(categories, layout: Optional[TaskLayout]) -> None:
    """The classes of an ODinW task's place (``--task``) must be the
    task config's, in its order: the task's datasets refuse others."""
    if layout is None or layout.classes is None:
        return
    if list(categories) != list(layout.classes):
        raise ConversionError(
            f'the source\'s classes {list(categories)} are not those of '
            f'ODinW task {layout.name} ({list(layout.classes)}, in this '
            'order), so the task could not read the converted data. Nothing '
            'was written. Give DST instead of --task for a dataset of your '
            'own (VOC: --classes sets the order).')


def write_files(dst, fmt, categories,
                out: Dict[str, Tuple[dict, List[Tuple[str, str]]]],
                split_source, warns, notes, link,
                unreadable: Dict[str, str],
                layout: Optional[TaskLayout] = None) -> ConversionResult:
    """Write the splits ``out`` (split -> COCO dict, [(source, name)]) to
    ``dst``; with ``layout`` (an ODinW task's place) each split goes to the
    task's folder for it and the classes must be the task's."""
    check_dst(dst)
    _check_layout(categories, layout)
    folders = layout.folders if layout is not None else {}
    out = {folders.get(sp, sp): v for sp, v in out.items()}
    # every image to be written was decoded; sizes of the bad ones are 0
    _check_decoded(out, unreadable, warns)
    counts = {}
    # check the annotations before copying anything
    for sp, (coco, files) in out.items():
        final_ann = osp.join(dst, sp, ANN_NAME)
        report = validate_coco(coco, final_ann)
        if report.errors:
            raise ConversionError(report.format('error'))
        warns += [i.message + ' (written as in the source)'
                  for i in report.warnings]
        names = [f for _, f in files]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ConversionError(
                f'{sp}: several source images would be written as {dup[:5]} '
                '(same file name); rename them first.')
        counts[sp] = dict(images=len(coco['images']),
                          boxes=len(coco['annotations']))
    parent = osp.dirname(osp.abspath(dst))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(osp.abspath(dst))}.tmp-',
                           dir=parent)
    try:
        for sp, (coco, files) in out.items():
            folder = osp.join(tmp, sp)
            os.makedirs(folder)
            for src_path, fname in files:
                _place(src_path, osp.join(folder, fname), link)
            with open(osp.join(folder, ANN_NAME), 'w', encoding='utf-8') as f:
                json.dump(coco, f, indent=1)
        check_dst(dst)
        if osp.isdir(dst):
            os.rmdir(dst)  # empty (checked); rename needs the name free
        os.rename(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ConversionResult(dst, fmt, list(categories), counts, split_source,
                            warns, notes)
