"""Convert detection datasets to the ODinW layout.

Output (``DST``)::

    DST/train/<images> + annotations_without_background.json
    DST/valid/...
    DST/test/...        (splits the data has, or the seeded split's)

Each json is COCO detection: ``images`` (ids from 1 in file-name order for
VOC / YOLO, ``width`` / ``height`` read from the image itself),
``annotations`` (``bbox`` as absolute ``[x, y, w, h]``, ``area``,
``iscrowd``) and ``categories`` (ids 1..N).

Formats:

``voc``
    Pascal VOC xml (``Annotations/`` + ``JPEGImages/``, or ``annotations/`` +
    ``images/`` as datitran's Raccoon, or both in one folder). Corners are
    taken as they are (``[xmin, ymin, xmax - xmin, ymax - ymin]``, no
    1-based shift, as Roboflow's exports and mmglip's demo data do); every
    object is kept (``difficult`` ones too). Splits: ``split_lists`` if
    given (txt: one image name or stem per line; csv: a ``filename``
    column), else ``ImageSets/Main/{train,val,test}.txt`` if present and no
    ``split`` ratios are given, else a seeded random split (``split``
    ratios, default 0.75 / 0.15 / 0.10; images sorted by name, then
    ``random.Random(seed)``-shuffled). So
    datitran's Raccoon (no ImageSets) gets a seeded split unless its own
    ``data/{train,test}_labels.csv`` are passed as the lists.
``yolo``
    YOLO txt (``class cx cy w h`` normalised) with ``data.yaml`` (``names``).
    Layouts ``<split>/{images,labels}`` (Roboflow) or
    ``{images,labels}/<split>`` (Ultralytics); ``val`` becomes ``valid``. The
    splits are kept; data with no split folders gets a seeded split. Boxes
    become absolute pixels with each image's real size (EXIF rotation
    included). An image without a label file, or with an empty one, is kept
    with no boxes. Polygon lines (YOLO segmentation) become their bounding
    box.
``roboflow-coco``
    Roboflow COCO export (``{train,valid,test}/_annotations.coco.json`` next
    to the images). Roboflow's background super-category (id 0, no
    annotations) is dropped and the other category ids re-mapped to 1..N in
    their order; images, annotations and their other fields are kept. If an
    annotation id is 0, all annotation ids are shifted by one (pycocotools
    takes id 0 for "unmatched").

Every image written is decoded in full first (VOC and YOLO need its size
anyway): a truncated file, a file cut short or one that is not an image at
all stops the conversion with a :class:`ConversionError` naming every such
source file and the decoder's reason, before anything is written (a
Roboflow image whose real size differs from its json entry is named in the
warnings).

Nothing is lost: every box of the source is written, unchanged apart from
the coordinate conversion. Boxes that :func:`validate_coco` warns about
(outside the image, zero area) are kept in the file and named in
``ConversionResult.warnings``; :class:`~mmglip.datasets.ODinWDataset`
clips / drops them at load time. Errors (a missing or undecodable image, a
class index out of range, an unreadable label line) stop the conversion.

``DST`` must not exist or be an empty folder: the converter never
overwrites. It writes to a temporary folder beside ``DST`` and renames it at
the end, so a failed conversion leaves nothing behind.
"""
import csv
import json
import os
import os.path as osp
import random
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from mmglip.utils.images import ImageError
from .validation import ODinWDataError, image_size, validate_coco

ANN_NAME = 'annotations_without_background.json'
SPLITS = ('train', 'valid', 'test')
DEFAULT_SPLIT = (0.75, 0.15, 0.10)
IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
FORMATS = ('voc', 'yolo', 'roboflow-coco')
#: undecodable source images named in the error, at most (then a count)
MAX_NAMED_IMAGES = 20


class ConversionError(ODinWDataError):
    """The source cannot be converted; the message says why."""


@dataclass
class _Image:
    src: str            # path of the source image
    file_name: str      # name in the output split folder
    width: int
    height: int
    boxes: List[Tuple[int, List[float]]] = field(default_factory=list)


@dataclass
class ConversionResult:
    """What a conversion wrote."""
    dst: str
    format: str
    categories: List[str]
    splits: Dict[str, Dict[str, int]]
    split_source: str
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f'{self.dst} ({self.format}; splits: {self.split_source})',
                 f'categories: {", ".join(self.categories)}']
        for split, n in self.splits.items():
            lines.append(f'  {split:<5}: {n["images"]:>6} images '
                         f'{n["boxes"]:>7} boxes')
        n_img = sum(n['images'] for n in self.splits.values())
        n_box = sum(n['boxes'] for n in self.splits.values())
        lines.append(f'  total: {n_img:>6} images {n_box:>7} boxes')
        lines += [f'note: {n}' for n in self.notes]
        lines += [f'warning: {w}' for w in self.warnings]
        return '\n'.join(lines)


# ------------------------------------------------------------------ helpers
def _natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower()
            for t in re.split(r'(\d+)', name)]


def check_dst(dst: str) -> None:
    """Refuse an existing non-empty destination."""
    if osp.lexists(dst):
        if not osp.isdir(dst) or os.listdir(dst):
            raise FileExistsError(
                f'{dst} exists and is not an empty folder; the converter '
                'never overwrites: remove it or choose another DST.')


def _check_ratios(ratios: Sequence[float]) -> Tuple[float, float, float]:
    ratios = tuple(float(r) for r in ratios)
    if len(ratios) == 2:
        ratios = ratios + (0.0, )
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(
            sum(ratios) - 1) > 1e-6 or ratios[0] <= 0:
        raise ValueError(
            f'split ratios {list(ratios)} must be 2 or 3 non-negative '
            'numbers (train valid [test]) adding up to 1, train > 0, e.g. '
            '--split 0.75 0.15 0.10.')
    return ratios


def seeded_split(names: Sequence[str], ratios: Sequence[float],
                 seed: int) -> Dict[str, List[str]]:
    """Split names (sorted first) by ratios with ``random.Random(seed)``:
    train gets ``round(n * r_train)``, valid ``round(n * r_valid)``, test
    the rest. Empty splits are left out."""
    ratios = _check_ratios(ratios)
    order = sorted(names, key=_natural_key)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_train = int(round(n * ratios[0]))
    n_valid = int(round(n * ratios[1]))
    if ratios[2] == 0:
        n_valid = n - n_train
    n_valid = min(n_valid, n - n_train)
    parts = {
        'train': order[:n_train],
        'valid': order[n_train:n_train + n_valid],
        'test': order[n_train + n_valid:],
    }
    return {k: sorted(v, key=_natural_key) for k, v in parts.items() if v}


def _read_name_list(path: str) -> List[str]:
    """Image names from a txt list (one per line) or a csv (``filename``
    column; repeated rows, one per box, count once)."""
    if path.lower().endswith('.csv'):
        with open(path, newline='', encoding='utf-8') as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or 'filename' not in reader.fieldnames:
                raise ConversionError(
                    f'{path}: a csv split list needs a "filename" column '
                    f'(found {reader.fieldnames}).')
            names = [row['filename'].strip() for row in reader]
    else:
        with open(path, encoding='utf-8') as f:
            names = [line.split()[0] for line in f if line.strip()]
    seen, out = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def _find_image(folder: str, name: str, stem: str) -> Optional[str]:
    if name and osp.isfile(osp.join(folder, name)):
        return osp.join(folder, name)
    for ext in IMG_EXTS + tuple(e.upper() for e in IMG_EXTS):
        if osp.isfile(osp.join(folder, stem + ext)):
            return osp.join(folder, stem + ext)
    return None


def _decoded_size(path: str, unreadable: Dict[str, str]) -> Tuple[int, int]:
    """The size of the image at ``path`` as loaders see it, after decoding
    all of it. A file that cannot be decoded is recorded in ``unreadable``
    (path -> reason) and ``(0, 0)`` returned, so that the conversion goes
    on to find the others and then names them all (:func:`_write_files`
    refuses to write anything while one is left)."""
    try:
        return image_size(path, decode=True)
    except ImageError as exc:
        unreadable[path] = exc.reason
        return 0, 0


def _list_images(folder: str) -> List[str]:
    return sorted((f for f in os.listdir(folder)
                   if osp.splitext(f)[1].lower() in IMG_EXTS
                   and osp.isfile(osp.join(folder, f))),
                  key=_natural_key)


def _coco_of(images: List[_Image], categories: List[str],
             info: Optional[dict] = None) -> dict:
    coco = dict(
        info=info or dict(description='converted by mmglip to the ODinW '
                          'layout'),
        images=[],
        annotations=[],
        categories=[
            dict(id=i + 1, name=n, supercategory='none')
            for i, n in enumerate(categories)
        ])
    for img_id, img in enumerate(images, 1):
        coco['images'].append(
            dict(id=img_id, file_name=img.file_name, width=img.width,
                 height=img.height))
        for cat_idx, (x, y, w, h) in img.boxes:
            coco['annotations'].append(
                dict(id=len(coco['annotations']) + 1, image_id=img_id,
                     category_id=cat_idx + 1, bbox=[x, y, w, h],
                     area=w * h, iscrowd=0))
    return coco


def _round(v: float) -> float:
    v = round(v, 4)
    return 0.0 if v == 0 else v


# ---------------------------------------------------------------------- VOC
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
                link: bool = False) -> ConversionResult:
    """Pascal VOC -> ODinW layout (see the module docstring)."""
    check_dst(dst)
    xml_dir, img_dir = _voc_dirs(src)
    xmls = sorted((f for f in os.listdir(xml_dir) if f.endswith('.xml')),
                  key=_natural_key)
    if not xmls:
        raise ConversionError(f'{xml_dir} holds no .xml file.')
    warns, notes = [], []
    unreadable: Dict[str, str] = {}
    records: Dict[str, Tuple[_Image, list]] = {}
    names_found = []
    for x in xmls:
        path = osp.join(xml_dir, x)
        fname, xml_size, objects = _parse_voc_xml(path)
        stem = osp.splitext(x)[0]
        img_path = _find_image(img_dir, fname, stem)
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
        w, h = _decoded_size(img_path, unreadable)
        if xml_size and img_path not in unreadable and tuple(xml_size) != (
                w, h):
            warns.append(f'{path}: xml size {xml_size[0]}x{xml_size[1]} '
                         f'differs from the image {img_path} ({w}x{h}); '
                         'the real size is used.')
        records[base] = (_Image(img_path, base, w, h), objects)
        names_found += [n for n, _ in objects]
    if classes is None:
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
                _round(x1), _round(y1), _round(x2 - x1), _round(y2 - y1)
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
            wanted = _read_name_list(list_path)
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
                assignment[sp] = [by_stem[s] for s in _read_name_list(p)
                                  if s in by_stem]
            split_source = f'VOC ImageSets ({sets_dir})'
        else:
            ratios = split if split is not None else DEFAULT_SPLIT
            assignment = seeded_split(all_names, ratios, seed)
            split_source = (f'seeded split {list(_check_ratios(ratios))} '
                            f'seed {seed}')
    _check_assignment(assignment, all_names, notes)
    splits = {
        sp: [records[n][0] for n in sorted(names, key=_natural_key)]
        for sp, names in assignment.items()
    }
    return _write_odinw(dst, 'voc', categories, splits, split_source, warns,
                        notes, link, unreadable)


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


# --------------------------------------------------------------------- YOLO
def _load_yaml(path: str) -> dict:
    import yaml
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise ConversionError(f'{path} is not a YAML mapping.')
    return data


def _yolo_names(src: str) -> Tuple[List[str], dict, str]:
    candidates = [osp.join(src, n) for n in ('data.yaml', 'data.yml',
                                             'dataset.yaml')]
    candidates += sorted(osp.join(src, f) for f in os.listdir(src)
                         if f.endswith(('.yaml', '.yml')))
    for path in candidates:
        if not osp.isfile(path):
            continue
        data = _load_yaml(path)
        names = data.get('names')
        if names is None:
            continue
        if isinstance(names, dict):
            keys = sorted(int(k) for k in names)
            if keys != list(range(len(keys))):
                raise ConversionError(
                    f'{path}: names ids {keys} are not 0..{len(keys) - 1}.')
            names = [str(names[k] if k in names else names[str(k)])
                     for k in keys]
        names = [str(n) for n in names]
        if 'nc' in data and int(data['nc']) != len(names):
            raise ConversionError(
                f'{path}: nc is {data["nc"]} but names has {len(names)} '
                'entries.')
        if len(set(names)) != len(names):
            raise ConversionError(f'{path}: duplicate class names {names}.')
        return names, data, path
    raise ConversionError(
        f'{src}: no data.yaml with "names" (the class names in index '
        'order) found.')


def _yolo_split_dirs(src: str, data: dict, yaml_path: str
                     ) -> Dict[str, Tuple[str, str]]:
    out = {}
    for sp, keys in (('train', ('train', )), ('valid', ('valid', 'val')),
                     ('test', ('test', ))):
        for k in keys:
            if osp.isdir(osp.join(src, k, 'images')):
                out[sp] = (osp.join(src, k, 'images'),
                           osp.join(src, k, 'labels'))
                break
            if osp.isdir(osp.join(src, 'images', k)):
                out[sp] = (osp.join(src, 'images', k),
                           osp.join(src, 'labels', k))
                break
        else:
            entry = data.get('val' if sp == 'valid' else sp)
            if isinstance(entry, str):
                base = osp.dirname(yaml_path)
                rel = entry
                while rel.startswith('../'):
                    rel = rel[3:]
                for cand in (osp.join(base, entry), osp.join(base, rel),
                             osp.join(src, rel)):
                    if osp.isdir(cand):
                        parts = osp.normpath(cand).split(os.sep)
                        if 'images' not in parts:
                            continue
                        i = len(parts) - 1 - parts[::-1].index('images')
                        labels = os.sep.join(parts[:i] + ['labels'] +
                                             parts[i + 1:])
                        out[sp] = (cand, labels)
                        break
    return out


def _yolo_image(img_path: str, label_path: str, names: List[str],
                notes_count: Dict[str, int],
                unreadable: Dict[str, str]) -> _Image:
    w, h = _decoded_size(img_path, unreadable)
    img = _Image(img_path, osp.basename(img_path), w, h)
    if not osp.isfile(label_path):
        notes_count['no_label'] += 1
        return img
    with open(label_path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    if not any(line.strip() for line in lines):
        notes_count['empty_label'] += 1
    for ln, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        where = f'{label_path}:{ln}'
        try:
            cls = int(parts[0])
            vals = [float(v) for v in parts[1:]]
        except ValueError as exc:
            raise ConversionError(
                f'{where}: {line!r} is not "class cx cy w h" numbers.'
            ) from exc
        if not 0 <= cls < len(names):
            raise ConversionError(
                f'{where}: class index {cls} is outside 0..{len(names) - 1} '
                f'(data.yaml names: {names}).')
        if len(vals) == 4:
            cx, cy, bw, bh = vals
            x1, x2 = (cx - bw / 2) * w, (cx + bw / 2) * w
            y1, y2 = (cy - bh / 2) * h, (cy + bh / 2) * h
        elif len(vals) >= 6 and len(vals) % 2 == 0:
            xs, ys = vals[0::2], vals[1::2]
            x1, x2 = min(xs) * w, max(xs) * w
            y1, y2 = min(ys) * h, max(ys) * h
            notes_count['polygon'] += 1
        else:
            raise ConversionError(
                f'{where}: {line!r} has {len(parts)} values; a box line is '
                '"class cx cy w h" (normalised), a polygon line "class x1 y1 '
                'x2 y2 ...".')
        x1, y1, x2, y2 = (_round(v) for v in (x1, y1, x2, y2))
        img.boxes.append((cls, [x1, y1, _round(x2 - x1), _round(y2 - y1)]))
    return img


def convert_yolo(src: str,
                 dst: str,
                 split: Optional[Sequence[float]] = None,
                 seed: int = 0,
                 link: bool = False) -> ConversionResult:
    """YOLO txt + data.yaml -> ODinW layout (see the module docstring)."""
    check_dst(dst)
    names, data, yaml_path = _yolo_names(src)
    dirs = _yolo_split_dirs(src, data, yaml_path)
    warns, notes = [], []
    unreadable: Dict[str, str] = {}
    counts = dict(no_label=0, empty_label=0, polygon=0)
    if dirs:
        if split is not None:
            raise ValueError(
                f'{src} has its own splits ({", ".join(dirs)}); they are '
                'kept, so --split does not apply.')
        split_source = 'the source\'s own'
        groups = {sp: d for sp, d in dirs.items()}
        assignment = None
    elif osp.isdir(osp.join(src, 'images')):
        groups = {'all': (osp.join(src, 'images'), osp.join(src, 'labels'))}
        ratios = split if split is not None else DEFAULT_SPLIT
        split_source = (f'seeded split {list(_check_ratios(ratios))} seed '
                        f'{seed}')
        assignment = True
    else:
        raise ConversionError(
            f'{src}: no YOLO image folders found (expected '
            '<split>/images + <split>/labels, images/<split> + '
            'labels/<split>, or images/ + labels/).')
    splits: Dict[str, List[_Image]] = {}
    for sp, (img_dir, label_dir) in groups.items():
        imgs = []
        stems = set()
        for fname in _list_images(img_dir):
            stem = osp.splitext(fname)[0]
            stems.add(stem)
            imgs.append(
                _yolo_image(osp.join(img_dir, fname),
                            osp.join(label_dir, stem + '.txt'), names,
                            counts, unreadable))
        if osp.isdir(label_dir):
            orphans = sorted(
                f for f in os.listdir(label_dir)
                if f.endswith('.txt') and osp.splitext(f)[0] not in stems
                and f != 'classes.txt')
            for f in orphans:
                warns.append(f'{osp.join(label_dir, f)} has no image in '
                             f'{img_dir}; its boxes are not written.')
        splits[sp] = imgs
    if assignment:
        imgs = {img.file_name: img for img in splits.pop('all')}
        parts = seeded_split(list(imgs), ratios, seed)
        splits = {sp: [imgs[n] for n in ns] for sp, ns in parts.items()}
    if counts['no_label']:
        notes.append(f'{counts["no_label"]} image(s) have no label file: '
                     'kept with no boxes')
    if counts['empty_label']:
        notes.append(f'{counts["empty_label"]} image(s) have an empty label '
                     'file: kept with no boxes')
    if counts['polygon']:
        notes.append(f'{counts["polygon"]} polygon line(s) converted to '
                     'their bounding boxes')
    return _write_odinw(dst, 'yolo', names, splits, split_source, warns,
                        notes, link, unreadable)


# ------------------------------------------------------------ Roboflow COCO
def convert_roboflow_coco(src: str, dst: str,
                          link: bool = False) -> ConversionResult:
    """Roboflow COCO export -> ODinW layout (see the module docstring)."""
    check_dst(dst)
    found = {}
    for sp, keys in (('train', ('train', )), ('valid', ('valid', 'val')),
                     ('test', ('test', ))):
        for k in keys:
            p = osp.join(src, k, '_annotations.coco.json')
            if osp.isfile(p):
                found[sp] = p
                break
    if not found:
        raise ConversionError(
            f'{src}: no Roboflow COCO export found (expected '
            '{train,valid,test}/_annotations.coco.json next to the images).')
    warns, notes = [], []
    unreadable: Dict[str, str] = {}
    out: Dict[str, Tuple[dict, List[Tuple[str, str]]]] = {}
    cat_signature = None
    for sp, path in found.items():
        with open(path, encoding='utf-8') as f:
            coco = json.load(f)
        cats = sorted(coco.get('categories', []), key=lambda c: c['id'])
        used = {a['category_id'] for a in coco.get('annotations', [])}
        if cats and cats[0]['id'] == 0:
            bg = cats[0]
            if 0 in used:
                n = sum(a['category_id'] == 0 for a in coco['annotations'])
                raise ConversionError(
                    f'{path}: category id 0 ({bg["name"]!r}) has {n} '
                    'annotation(s), so it is not Roboflow\'s background '
                    'super-category; this export cannot be converted as '
                    'roboflow-coco (fix the categories first).')
            cats = cats[1:]
            dropped = f'background category id 0 {bg["name"]!r} dropped'
            if dropped not in notes:
                notes.append(dropped)
        signature = [c['name'] for c in cats]
        if cat_signature is None:
            cat_signature = signature
        elif signature != cat_signature:
            raise ConversionError(
                f'{path}: categories {signature} differ from the other '
                f'splits\' {cat_signature}.')
        remap = {c['id']: i + 1 for i, c in enumerate(cats)}
        new = {k: v for k, v in coco.items()
               if k not in ('categories', 'annotations')}
        new['categories'] = [dict(c, id=remap[c['id']]) for c in cats]
        shift = any(a.get('id') == 0 for a in coco.get('annotations', []))
        if shift:
            notes.append(f'{sp}: annotation ids shifted by +1 (an id was 0)')
        anns = []
        for a in coco.get('annotations', []):
            if a['category_id'] not in remap:
                raise ConversionError(
                    f'{path}: annotation id {a.get("id")} has category_id '
                    f'{a["category_id"]}, which is not in "categories".')
            a = dict(a, category_id=remap[a['category_id']])
            if shift:
                a['id'] = a['id'] + 1
            anns.append(a)
        new['annotations'] = anns
        files = []
        folder = osp.dirname(path)
        for img in coco.get('images', []):
            p = osp.join(folder, img['file_name'])
            if not osp.isfile(p):
                raise ConversionError(
                    f'{path}: image id {img["id"]} ({img["file_name"]!r}) '
                    f'is missing: {p} does not exist.')
            real = _decoded_size(p, unreadable)
            json_size = (img.get('width'), img.get('height'))
            if p not in unreadable and all(
                    isinstance(v, int) for v in json_size) and tuple(
                        real) != json_size:
                warns.append(
                    f'{path}: image id {img["id"]} ({img["file_name"]!r}) '
                    f'is {real[0]}x{real[1]} but {json_size[0]}x'
                    f'{json_size[1]} in the json (written as in the '
                    'source); its boxes may not line up.')
            files.append((p, img['file_name']))
        out[sp] = (new, files)
    return _write_files(dst, 'roboflow-coco', cat_signature, out,
                        'the source\'s own', warns, notes, link, unreadable)


# ------------------------------------------------------------------ writing
def _write_odinw(dst, fmt, categories, splits: Dict[str, List[_Image]],
                 split_source, warns, notes, link,
                 unreadable: Dict[str, str]) -> ConversionResult:
    out = {}
    for sp in SPLITS:
        if sp not in splits:
            continue
        imgs = splits[sp]
        out[sp] = (_coco_of(imgs, categories),
                   [(img.src, img.file_name) for img in imgs])
    return _write_files(dst, fmt, categories, out, split_source, warns,
                        notes, link, unreadable)


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


def _write_files(dst, fmt, categories,
                 out: Dict[str, Tuple[dict, List[Tuple[str, str]]]],
                 split_source, warns, notes, link,
                 unreadable: Dict[str, str]) -> ConversionResult:
    check_dst(dst)
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


def convert(src: str, dst: str, fmt: str, **kwargs) -> ConversionResult:
    """Dispatch to :func:`convert_voc`, :func:`convert_yolo` or
    :func:`convert_roboflow_coco`."""
    if not osp.isdir(src):
        raise FileNotFoundError(f'source folder {src} does not exist.')
    if fmt == 'voc':
        return convert_voc(src, dst, **kwargs)
    if fmt == 'yolo':
        return convert_yolo(src, dst, **kwargs)
    if fmt == 'roboflow-coco':
        return convert_roboflow_coco(src, dst, **kwargs)
    raise ValueError(f'unknown format {fmt!r}; choose one of {FORMATS}.')


__all__ = [
    'ConversionError', 'ConversionResult', 'convert', 'convert_voc',
    'convert_yolo', 'convert_roboflow_coco', 'seeded_split', 'check_dst',
    'ANN_NAME', 'SPLITS', 'DEFAULT_SPLIT', 'FORMATS'
]
