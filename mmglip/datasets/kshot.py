"""k-shot subsets of COCO annotation files (the ODinW few-shot protocol).

The official GLIP sampler, which this one reproduces image for image:

1. take the ids of the images with a usable box in ascending order (the
   official loader first leaves out images without annotations and those
   whose boxes are all at most 1 px wide or high), and shuffle them with
   Python's ``random.Random(seed).shuffle`` (seed 0: no shuffle, as the
   official code);
2. give every category a quota of ``k``;
3. walk the images in that order; keep an image when any category it
   contains still has quota left; each kept image lowers the quota of every
   category it contains by one (image-level counting).

So every category ends with at least ``k`` images holding it (hence at least
``k`` instances) when the data has that many; a category with fewer gets
all of its images and a :class:`FewShotWarning` naming it (for the
splits written by :func:`prepare_fewshot_split`, as datasets make them: one
line per category, attributed to the user's annotation file). Images without
a usable box are never chosen.

The subsets are written as COCO json files named
``fewshot_{split}_shot{k}_seed{s}.json`` (``split`` is ``train`` or ``val``:
the official prepared splits make the validation set k-shot too), next to
the split's annotation file or in a given folder. A file that exists is
reused when it holds exactly what would be written, and is never
overwritten: if it differs, :class:`FileExistsError` names it. A dataset
config asks for them with ``ODinWDataset(fewshot=dict(shots=k, seed=s))``
(:mod:`mmglip.datasets.odinw`), which calls :func:`prepare_fewshot_split`.
(Not the few-shot benchmark: that is :mod:`mmglip.benchmark`.)
"""
import json
import os
import os.path as osp
import random
import tempfile
import warnings
from collections import Counter
from typing import Dict, Iterable, List, Optional, Tuple

OFFICIAL_SHOTS = (1, 3, 5, 10)
OFFICIAL_SEEDS = (3, 30, 300)


class FewShotWarning(UserWarning):
    """A category has fewer than k images / instances."""


def fewshot_file_name(split: str, shots: int, seed: int) -> str:
    return f'fewshot_{split}_shot{shots}_seed{seed}.json'


def _check_shots(shots) -> int:
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise ValueError(f'shots must be a positive integer (the official '
                         f'values are {OFFICIAL_SHOTS}), not {shots!r}; use '
                         'the original annotation file for full data.')
    return shots


def _candidates(coco: dict) -> Tuple[List, Dict[object, set]]:
    """Sorted ids of the images the sampler may take (at least one box
    over 1 px wide and high) and the categories of every image."""
    cats_of: Dict[object, set] = {}
    usable = set()
    for ann in coco['annotations']:
        cats_of.setdefault(ann['image_id'], set()).add(ann['category_id'])
        if all(v > 1 for v in ann['bbox'][2:4]):
            usable.add(ann['image_id'])
    ids = sorted(img['id'] for img in coco['images'] if img['id'] in usable)
    return ids, cats_of


def fewshot_image_ids(coco: dict, shots: int, seed: int) -> List:
    """Ids of the images the official sampler keeps, in the walk order."""
    _check_shots(shots)
    order, cats_of = _candidates(coco)
    if seed != 0:
        random.Random(seed).shuffle(order)
    quota = {c['id']: shots for c in coco['categories']}
    kept = []
    for img_id in order:
        cats = cats_of.get(img_id, ())
        if any(quota.get(c, 0) > 0 for c in cats):
            kept.append(img_id)
            for c in cats:
                quota[c] = quota.get(c, 0) - 1
    return kept


def category_counts(coco: dict) -> Tuple[Counter, Counter]:
    """Per category id: (number of images holding it, number of boxes)."""
    images, boxes = Counter(), Counter()
    seen = set()
    for ann in coco['annotations']:
        boxes[ann['category_id']] += 1
        key = (ann['image_id'], ann['category_id'])
        if key not in seen:
            seen.add(key)
            images[ann['category_id']] += 1
    return images, boxes


def shortages(coco: dict, shots: int, split: str = 'train') -> List[str]:
    """One message per category held by fewer than ``shots`` usable images
    of ``coco`` (the sample then takes all of them)."""
    _check_shots(shots)
    n_boxes = category_counts(coco)[1]
    ids, cats_of = _candidates(coco)
    n_imgs = Counter(c for i in ids for c in cats_of[i])
    out = []
    for cat in coco['categories']:
        have = n_imgs.get(cat['id'], 0)
        if have < shots:
            out.append(
                f'category {cat["name"]!r} (id {cat["id"]}) is in only '
                f'{have} usable image(s) ({n_boxes.get(cat["id"], 0)} '
                f'instance(s) in all), fewer than the {shots} shots asked '
                f'for; the {split} sample takes all of them.')
    return out


def _subset(coco: dict, shots: int, seed: int, source: str,
            split: str) -> dict:
    kept = set(fewshot_image_ids(coco, shots, seed))
    out = {k: v for k, v in coco.items()
           if k not in ('images', 'annotations', 'categories', 'fewshot')}
    out['images'] = [img for img in coco['images'] if img['id'] in kept]
    out['annotations'] = [
        ann for ann in coco['annotations'] if ann['image_id'] in kept
    ]
    out['categories'] = coco['categories']
    out['fewshot'] = dict(
        split=split,
        shots=shots,
        seed=seed,
        source=osp.basename(source) if source else '',
        sampler='official GLIP image-level counting',
        num_images=len(out['images']),
        num_annotations=len(out['annotations']))
    return out


def sample_fewshot(coco: dict,
                   shots: int,
                   seed: int,
                   source: str = '',
                   split: str = 'train') -> dict:
    """The k-shot subset of a COCO dict (a new dict; ``coco`` is unchanged).

    Images and annotations keep their ids and file order; ``categories``
    (and ``info`` / ``licenses``) are kept whole; a ``fewshot`` entry records
    how the subset was made.

    Warns (:class:`FewShotWarning`, at the line that called this) for each
    category held by fewer than ``shots`` images, naming it and ``source``;
    the subset then takes what exists.
    """
    for msg in shortages(coco, shots, split):
        warnings.warn(f'{source or "annotations"}: {msg}', FewShotWarning,
                      stacklevel=2)
    return _subset(coco, shots, seed, source, split)


#: what :func:`warn_shortages` has shown (its "default" action: once)
_SHOWN: dict = {}


def warn_shortages(ann_file: str, messages: Iterable[str]) -> None:
    """Each message as a :class:`FewShotWarning` attributed to the user's
    annotation file ``ann_file`` (shown as ``ann_file:0: FewShotWarning:
    ...``, one line: neither a line of mmglip's source nor its path), each
    once per process under Python's default filter; ``error`` / ``ignore``
    / ``always`` filters and ``catch_warnings`` work as for any warning."""
    path = osp.abspath(ann_file)
    for msg in messages:
        warnings.warn_explicit(msg, FewShotWarning, path, 0,
                               module='mmglip.datasets.kshot',
                               registry=_SHOWN)


def _normalised(obj):
    return json.loads(json.dumps(obj))


def write_json_no_overwrite(obj: dict, path: str) -> str:
    """Write ``obj`` to ``path`` unless a file is there.

    An existing file with the same content is reused; one with other content
    raises :class:`FileExistsError` naming it. The write itself is atomic
    (temporary file, then a hard link that fails if the name was taken
    meanwhile).
    """
    obj = _normalised(obj)
    if osp.exists(path):
        _compare_existing(obj, path)
        return path
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp-', suffix='.json', dir=folder)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=1)
        try:
            os.link(tmp, path)
        except FileExistsError:
            _compare_existing(obj, path)
        except OSError:  # no hard links here: rename, after a last check
            if osp.exists(path):
                _compare_existing(obj, path)
            else:
                os.rename(tmp, path)
                tmp = None
    finally:
        if tmp is not None and osp.exists(tmp):
            os.remove(tmp)
    return path


def _compare_existing(obj: dict, path: str) -> None:
    try:
        with open(path, encoding='utf-8') as f:
            existing = json.load(f)
    except (OSError, ValueError) as exc:
        raise FileExistsError(
            f'{path} exists and is not a readable json file ({exc}); it is '
            'not overwritten: delete it or write the splits elsewhere '
            '(out_dir / --out-dir).') from exc
    if existing != obj:
        raise FileExistsError(
            f'{path} exists with other content than the split that would be '
            'written now (made from another annotation file, or edited); it '
            'is not overwritten: delete it or write the splits elsewhere '
            '(out_dir / --out-dir).')


def load_coco(path: str) -> dict:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def prepare_fewshot_split(ann_file: str,
                          shots: Optional[int],
                          seed: int,
                          out_dir: Optional[str] = None,
                          split: str = 'train',
                          coco: Optional[dict] = None) -> str:
    """Write (or reuse) ``fewshot_{split}_shot{k}_seed{s}.json`` and return
    its path; ``shots=None`` (full data) returns ``ann_file`` itself.

    Args:
        ann_file: the split's full annotation file.
        out_dir: where to write; default: next to ``ann_file``.
        split: ``'train'`` or ``'val'`` (used in the file name).
        coco: ``ann_file`` already loaded (saves reading it again).
    """
    if shots is None:
        return ann_file
    _check_shots(shots)
    if coco is None:
        coco = load_coco(ann_file)
    path = osp.join(out_dir if out_dir is not None else
                    osp.dirname(osp.abspath(ann_file)),
                    fewshot_file_name(split, shots, seed))
    warn_shortages(ann_file, shortages(coco, shots, split))
    subset = _subset(coco, shots, seed, ann_file, split)
    return write_json_no_overwrite(subset, path)


def prepare_fewshot_splits(train_ann: str,
                           val_ann: Optional[str],
                           shots: Optional[int],
                           seed: int,
                           out_dir: Optional[str] = None
                           ) -> Tuple[str, Optional[str]]:
    """The k-shot train and val files of the official protocol.

    Returns:
        ``(train_path, val_path)``; for full data (``shots=None``) the
        original files. ``val_ann=None`` gives ``val_path=None``.
    """
    train = prepare_fewshot_split(train_ann, shots, seed, out_dir, 'train')
    val = None if val_ann is None else prepare_fewshot_split(
        val_ann, shots, seed, out_dir, 'val')
    return train, val


def prepare_all(ann_file: str,
                shots: Iterable[int] = OFFICIAL_SHOTS,
                seeds: Iterable[int] = OFFICIAL_SEEDS,
                out_dir: Optional[str] = None,
                split: str = 'train') -> List[str]:
    """:func:`prepare_fewshot_split` for every (k, seed); the file is read
    once."""
    coco = load_coco(ann_file)
    return [
        prepare_fewshot_split(ann_file, k, s, out_dir, split, coco=coco)
        for k in shots for s in seeds
    ]


__all__ = [
    'FewShotWarning', 'OFFICIAL_SHOTS', 'OFFICIAL_SEEDS', 'fewshot_file_name',
    'fewshot_image_ids', 'category_counts', 'sample_fewshot', 'shortages',
    'warn_shortages',
    'write_json_no_overwrite', 'prepare_fewshot_split',
    'prepare_fewshot_splits', 'prepare_all', 'load_coco'
]
