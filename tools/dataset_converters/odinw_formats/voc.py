"""Pascal VOC -> ODinW layout.

Pascal VOC xml (``Annotations/`` + ``JPEGImages/``, or ``annotations/`` +
``images/`` as datitran's Raccoon, or both in one folder). Corners are
taken as they are (``[xmin, ymin, xmax - xmin, ymax - ymin]``, no 1-based
shift, as Roboflow's exports and mmglip's demo data do); every object is
kept (``difficult`` ones too). Splits: ``split_lists`` if given (txt: one
image name or stem per line; csv: a ``filename`` column), else
``ImageSets/Main/{train,val,test}.txt`` if present and no ``split`` ratios
are given, else a seeded random split (``split`` ratios, default 0.75 /
0.15 / 0.10; images sorted by name, then ``random.Random(seed)``-shuffled).
So datitran's Raccoon (no ImageSets) gets a seeded split unless its own
``data/{train,test}_labels.csv`` are passed as the lists.
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

from .common import (DEFAULT_SPLIT, IMG_EXTS, SPLITS, ConversionError,
                     ConversionResult, SourceImage, TaskLayout, check_dst,
                     check_ratios, decoded_size, find_image, natural_key,
                     read_name_list, round_coord, seeded_split)
from .write import write_odinw


def _voc_dirs(src: str) -> Tuple[str, str]:
    for xml_dir, img_dir in (('Annotations', 'JPEGImages'),
                             ('annotations', 'images'),
                             ('Annotations', 'images'),
                             ('annotations', 'JPEGImages')):
        if osp.isdir(osp.join(src, xml_dir)) and osp.isdir(
                osp.join(src, img_dir)):
            return osp.join(src, xml_dir), osp.join(src, img_dir)
    if any(f.endswith('.xml') for f in os.listdir(src)):
        return src, src
    raise ConversionError(
        f'{src} does not look like Pascal VOC: expected Annotations/ + '
        'JPEGImages/, annotations/ + images/, or xml files next to the '
        'images.')


def _parse_voc_xml(path: str):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ConversionError(f'{path}: not valid xml ({exc}).') from exc
    fname = (root.findtext('filename') or '').strip()
    size = root.find('size')
    xml_size = None
    if size is not None:
        try:
            xml_size = (int(float(size.findtext('width'))),
                        int(float(size.findtext('height'))))
        except (TypeError, ValueError):
            xml_size = None
    objects = []
    for k, obj in enumerate(root.findall('object')):
        name = (obj.findtext('name') or '').strip()
        bb = obj.find('bndbox')
        try:
            coords = [float(bb.findtext(t)) for t in
                      ('xmin', 'ymin', 'xmax', 'ymax')]
        except (AttributeError, TypeError, ValueError) as exc:
            raise ConversionError(
                f'{path}: object #{k} ({name!r}) has no readable bndbox '
                'xmin/ymin/xmax/ymax.') from exc
        if not name:
            raise ConversionError(f'{path}: object #{k} has no name.')
        objects.append((name, coords))
    return fname, xml_size, objects


def convert_voc(src: str,
                dst: str,
                split: Optional[Sequence[float]] = None,
                seed: int = 0,
                split_lists: Optional[Dict[str, str]] = None,
                classes: Optional[Sequence[str]] = None,
                link: bool = False,
                layout: Optional[TaskLayout] = None) -> ConversionResult:
    """Pascal VOC -> ODinW layout (see the module docstring); with an ODinW
    task's ``layout`` and no ``classes``, the task's classes, in order."""
    check_dst(dst)
    xml_dir, img_dir = _voc_dirs(src)
    xmls = sorted((f for f in os.listdir(xml_dir) if f.endswith('.xml')),
                  key=natural_key)
    if not xmls:
        raise ConversionError(f'{xml_dir} holds no .xml file.')
    warns, notes = [], []
    unreadable: Dict[str, str] = {}
    records: Dict[str, Tuple[SourceImage, list]] = {}
    names_found = []
    for x in xmls:
        path = osp.join(xml_dir, x)
        fname, xml_size, objects = _parse_voc_xml(path)
        stem = osp.splitext(x)[0]
        img_path = find_image(img_dir, fname, stem)
        if img_path is None:
            raise ConversionError(
                f'{path}: its image {fname or stem!r} is missing from '
                f'{img_dir} (tried the xml filename and {stem} with '
                f'{"/".join(IMG_EXTS)}); restore it or remove the xml.')
        base = osp.basename(img_path)
        if base in records:
            raise ConversionError(
                f'{path}: image {base} is also the image of another xml; '
                'each image needs one annotation file.')
        w, h = decoded_size(img_path, unreadable)
        if xml_size and img_path not in unreadable and tuple(xml_size) != (
                w, h):
            warns.append(f'{path}: xml size {xml_size[0]}x{xml_size[1]} '
                         f'differs from the image {img_path} ({w}x{h}); '
                         'the real size is used.')
        records[base] = (SourceImage(img_path, base, w, h), objects)
        names_found += [n for n, _ in objects]
    if classes is None and layout is not None and layout.classes:
        categories = list(layout.classes)  # the task's, in its order
        extra = sorted(set(names_found) - set(categories))
        if extra:
            raise ConversionError(
                f'objects named {extra} are not among the classes of ODinW '
                f'task {layout.name} ({categories}), so the task could not '
                'read them. Nothing was written. Give DST instead of --task '
                'for a dataset of your own.')
    elif classes is None:
        categories = sorted(set(names_found))
    else:
        categories = list(classes)
        extra = sorted(set(names_found) - set(categories))
        if extra:
            raise ConversionError(
                f'objects named {extra} are not among the classes given '
                f'({categories}); add them, or leave --classes out to take '
                'every name found.')
    index = {n: i for i, n in enumerate(categories)}
    for img, objects in records.values():
        for name, (x1, y1, x2, y2) in objects:
            img.boxes.append((index[name], [
                round_coord(x1), round_coord(y1),
                round_coord(x2 - x1), round_coord(y2 - y1)
            ]))

    all_names = list(records)
    by_stem = {osp.splitext(n)[0]: n for n in all_names}
    if split_lists:
        if split is not None:
            raise ValueError('give either split ratios or split lists, not '
                             'both.')
        assignment = {}
        for sp, list_path in split_lists.items():
            sp = 'valid' if sp == 'val' else sp
            if sp not in SPLITS:
                raise ValueError(f'split list for {sp!r}: splits are '
                                 f'{SPLITS}.')
            wanted = read_name_list(list_path)
            missing = [n for n in wanted if n not in records and
                       osp.splitext(n)[0] not in by_stem]
            if missing:
                raise ConversionError(
                    f'{list_path} names {len(missing)} image(s) with no '
                    f'annotation in {xml_dir}, e.g. {missing[:5]}.')
            assignment[sp] = [n if n in records else by_stem[
                osp.splitext(n)[0]] for n in wanted]
        split_source = 'lists ' + ', '.join(
            f'{k}={v}' for k, v in split_lists.items())
    else:
        sets_dir = osp.join(src, 'ImageSets', 'Main')
        found = {sp: osp.join(sets_dir, f + '.txt')
                 for sp, f in (('train', 'train'), ('valid', 'val'),
                               ('test', 'test'))
                 if osp.isfile(osp.join(sets_dir, f + '.txt'))}
        if 'train' not in found and osp.isfile(
                osp.join(sets_dir, 'trainval.txt')):
            found['train'] = osp.join(sets_dir, 'trainval.txt')
        if found and split is None:
            assignment = {}
            for sp, p in found.items():
                assignment[sp] = [by_stem[s] for s in read_name_list(p)
                                  if s in by_stem]
            split_source = f'VOC ImageSets ({sets_dir})'
        else:
            ratios = split if split is not None else DEFAULT_SPLIT
            assignment = seeded_split(all_names, ratios, seed)
            split_source = (f'seeded split {list(check_ratios(ratios))} '
                            f'seed {seed}')
    _check_assignment(assignment, all_names, notes)
    splits = {
        sp: [records[n][0] for n in sorted(names, key=natural_key)]
        for sp, names in assignment.items()
    }
    return write_odinw(dst, 'voc', categories, splits, split_source, warns,
                       notes, link, unreadable,
                       layout)


def _check_assignment(assignment: Dict[str, List[str]], all_names,
                      notes: List[str]) -> None:
    seen: Dict[str, str] = {}
    for sp, names in assignment.items():
        for n in names:
            if n in seen and seen[n] != sp:
                raise ConversionError(
                    f'image {n} is in both the {seen[n]} and the {sp} split '
                    'lists; the splits must not overlap.')
            seen[n] = sp
    left = [n for n in all_names if n not in seen]
    if left:
        notes.append(f'{len(left)} annotated image(s) are in no split list '
                     f'and are not written, e.g. {left[:5]}')
