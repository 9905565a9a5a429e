"""YOLO txt + ``data.yaml`` -> ODinW layout.

YOLO txt (``class cx cy w h`` normalised) with ``data.yaml`` (``names``).
Layouts ``<split>/{images,labels}`` (Roboflow) or ``{images,labels}/<split>``
(Ultralytics); ``val`` becomes ``valid``. The splits are kept; data with no
split folders gets a seeded split. Boxes become absolute pixels with each
image's real size (EXIF rotation included). An image without a label file,
or with an empty one, is kept with no boxes. Polygon lines (YOLO
segmentation) become their bounding box.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from .common import (DEFAULT_SPLIT, ConversionError, ConversionResult,
                     SourceImage, TaskLayout, check_dst, check_ratios,
                     decoded_size, list_images, round_coord, seeded_split)
from .write import write_odinw


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
                unreadable: Dict[str, str]) -> SourceImage:
    w, h = decoded_size(img_path, unreadable)
    img = SourceImage(img_path, osp.basename(img_path), w, h)
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
        x1, y1, x2, y2 = (round_coord(v) for v in (x1, y1, x2, y2))
        img.boxes.append(
            (cls, [x1, y1, round_coord(x2 - x1), round_coord(y2 - y1)]))
    return img


def convert_yolo(src: str,
                 dst: str,
                 split: Optional[Sequence[float]] = None,
                 seed: int = 0,
                 link: bool = False,
                 layout: Optional[TaskLayout] = None) -> ConversionResult:
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
        split_source = (f'seeded split {list(check_ratios(ratios))} seed '
                        f'{seed}')
        assignment = True
    else:
        raise ConversionError(
            f'{src}: no YOLO image folders found (expected '
            '<split>/images + <split>/labels, images/<split> + '
            'labels/<split>, or images/ + labels/).')
    splits: Dict[str, List[SourceImage]] = {}
    for sp, (img_dir, label_dir) in groups.items():
        imgs = []
        stems = set()
        for fname in list_images(img_dir):
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
    return write_odinw(dst, 'yolo', names, splits, split_source, warns,
                       notes, link, unreadable,
                       layout)
