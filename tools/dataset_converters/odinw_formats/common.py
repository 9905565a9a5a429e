"""What the format converters share: the ODinW layout's names, the result
and error types, the seeded split, image lookup and decoding, and the COCO
dict of converted images.

Boxes are written as they are in the source (only the coordinates
converted); :func:`decoded_size` decodes every image in full, so that an
image that cannot be decoded is found before anything is written.
"""
import csv
import os
import os.path as osp
import random
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from mmglip.datasets.validation import ODinWDataError
from mmglip.utils.images import image_size
from mmglip.utils.images import ImageError

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
class SourceImage:
    src: str            # path of the source image
    file_name: str      # name in the output split folder
    width: int
    height: int
    boxes: List[Tuple[int, List[float]]] = field(default_factory=list)


@dataclass
class TaskLayout:
    """Where an ODinW task reads its splits (``to_odinw.py --task``): the
    folder of each converted split (``valid`` -> ``mini_val`` for
    EgoHands) and the classes its config names, in order (None: any)."""
    name: str
    folders: Dict[str, str] = field(default_factory=dict)
    classes: Optional[List[str]] = None


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
        width = max([5] + [len(split) for split in self.splits])
        for split, n in self.splits.items():
            lines.append(f'  {split:<{width}}: {n["images"]:>6} images '
                         f'{n["boxes"]:>7} boxes')
        n_img = sum(n['images'] for n in self.splits.values())
        n_box = sum(n['boxes'] for n in self.splits.values())
        lines.append(f'  {"total":<{width}}: {n_img:>6} images '
                     f'{n_box:>7} boxes')
        lines += [f'note: {n}' for n in self.notes]
        lines += [f'warning: {w}' for w in self.warnings]
        return '\n'.join(lines)


# ------------------------------------------------------------------ helpers
def natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower()
            for t in re.split(r'(\d+)', name)]


def check_dst(dst: str) -> None:
    """Refuse an existing non-empty destination."""
    if osp.lexists(dst):
        if not osp.isdir(dst) or os.listdir(dst):
            raise FileExistsError(
                f'{dst} exists and is not an empty folder; the converter '
                'never overwrites: remove it or choose another DST.')


def check_ratios(ratios: Sequence[float]) -> Tuple[float, float, float]:
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
    ratios = check_ratios(ratios)
    order = sorted(names, key=natural_key)
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
    return {k: sorted(v, key=natural_key) for k, v in parts.items() if v}


def read_name_list(path: str) -> List[str]:
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


def find_image(folder: str, name: str, stem: str) -> Optional[str]:
    if name and osp.isfile(osp.join(folder, name)):
        return osp.join(folder, name)
    for ext in IMG_EXTS + tuple(e.upper() for e in IMG_EXTS):
        if osp.isfile(osp.join(folder, stem + ext)):
            return osp.join(folder, stem + ext)
    return None


def decoded_size(path: str, unreadable: Dict[str, str]) -> Tuple[int, int]:
    """The size of the image at ``path`` as loaders see it, after decoding
    all of it. A file that cannot be decoded is recorded in ``unreadable``
    (path -> reason) and ``(0, 0)`` returned, so that the conversion goes
    on to find the others and then names them all (:func:`write_files`
    refuses to write anything while one is left)."""
    try:
        return image_size(path, decode=True)
    except ImageError as exc:
        unreadable[path] = exc.reason
        return 0, 0


def list_images(folder: str) -> List[str]:
    return sorted((f for f in os.listdir(folder)
                   if osp.splitext(f)[1].lower() in IMG_EXTS
                   and osp.isfile(osp.join(folder, f))),
                  key=natural_key)


def coco_of(images: List[SourceImage], categories: List[str],
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


def round_coord(v: float) -> float:
    v = round(v, 4)
    return 0.0 if v == 0 else v
