"""Grounding data for training: MDETR's captions with per-box phrase spans
(GoldG, as GLIP pretrains on it).

Format (MDETR's ``final_flickr_separateGT_train.json`` and
``final_mixed_train_no_coco.json``): COCO-like json. Each entry of
``images`` is one caption of one image: ``id``, ``file_name``, ``height``,
``width``, ``caption`` (str) and, in the mixed file, ``data_source``
(``"coco"``: a COCO 2014 train image, ``"vg"``: a Visual Genome / GQA
image). Each entry of ``annotations`` is a box: ``id``, ``image_id``,
``bbox`` ``[x, y, w, h]``, ``tokens_positive`` (the ``[start, end)``
character spans of the caption's phrase(s) it grounds), ``category_id``.

Where the files come from and go (the official GLIP layout)::

    https://zenodo.org/record/4729015/files/mdetr_annotations.tar.gz
      -> data/mdetr_annotations/final_flickr_separateGT_train.json
           images: data/flickr30k_entities/flickr30k_images/
      -> data/mdetr_annotations/final_mixed_train_no_coco.json
           images: data/coco/train2014/ (data_source "coco")
                   data/gqa/images/     (data_source "vg")

Each sample's ``text`` is the caption and ``tokens_positive`` its
*entities*: the distinct span sets of its boxes (boxes with the same spans
share one), in order of first appearance; each box's ``bbox_label`` is its
entity's index. ``GLIP.loss`` builds the caption prompt from these
(``mmglip.text.build_caption_prompt``), so a box's positive tokens are
those of its own spans, as in the official model.

What is dropped, counted, and reported in one :class:`GroundingDataWarning`
after loading: the language model reads at most ``max_tokens`` tokens
([CLS] and [SEP] included), so a longer caption is cut after the last token
that fits, and the boxes with a span beyond the cut (and entities left
without a box) are dropped; boxes whose ``tokens_positive`` is empty (no
phrase: the official model gives them no positive token) are dropped; boxes
that lie wholly outside their image (no pixel of the ``width`` x ``height``
image inside them: they would train on nothing) are dropped, the first few
named by annotation id; an image left without a box is dropped. Everything
else that is wrong is a :class:`GroundingDataError`, one line naming the
file, the entry and the value; an image entry with no box is one too
(remove the entry).
"""
import os.path as osp
import warnings
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

from mmdet.datasets import BaseDetDataset
from mmengine.utils import is_abs

from mmglip.registry import DATASETS
from mmglip.errors import UserError
from mmglip.utils.images import missing_images
from .annotation_file import (check_spans, finite_box, is_remote,
                              load_annotation_json)

MDETR_SOURCES = (
    'MDETR annotations come from https://zenodo.org/record/4729015/files/'
    'mdetr_annotations.tar.gz (data/mdetr_annotations/)')


class GroundingDataError(UserError):
    """A grounding annotation file or image folder that cannot be used."""


class GroundingDataWarning(UserWarning):
    """Boxes or images of a grounding file that were left out."""


def _spans(spans, caption: str, where: str) -> List[List[int]]:
    check_spans(spans, caption, where, GroundingDataError,
                hint='; fix or remove the annotation')
    if all(not caption[b:e].strip() for b, e in spans):
        raise GroundingDataError(
            f'{where}: spans {spans} cover only whitespace of the caption: '
            'no token to ground; fix or remove the annotation.')
    return [list(s) for s in spans]


def _outside(bbox, width, height) -> bool:
    """``[x, y, w, h]`` has no area inside a ``width`` x ``height`` image.
    """
    x, y, w, h = bbox
    return x >= width or y >= height or x + w <= 0 or y + h <= 0


def read_grounding(ann_file: str, backend_args=None) -> Tuple[List[dict],
                                                              dict]:
    """Read and check an MDETR-format grounding file.

    Returns:
        (entries, left out). One entry per image entry (caption), in file
        order: ``img_id``, ``file_name``, ``width``, ``height``,
        ``caption``, ``data_source`` (None when absent) and ``boxes``:
        ``(bbox [x1, y1, x2, y2], spans)`` in annotation order. Left out:
        ``no_phrase``, how many boxes had an empty ``tokens_positive``;
        ``outside``, per box wholly outside its image
        ``(annotation id, image id, bbox, width, height)``. An entry whose
        boxes all lie outside its image has no boxes.

    Raises:
        GroundingDataError: the file is missing or malformed, an entry has
            no caption, a span lies outside its caption, an annotation names
            an unknown image or has a bad bbox, an image entry has no box or
            none with a phrase (an entry whose boxes all lie outside
            the image is returned without boxes: the caller drops it).
    """
    data = load_annotation_json(ann_file, backend_args, GroundingDataError,
                                'grounding', MDETR_SOURCES)
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), list) for k in ('images', 'annotations')):
        raise GroundingDataError(
            f'{ann_file} is not an MDETR grounding file: it needs the lists '
            f'"images" and "annotations"; {MDETR_SOURCES}.')
    if not data['images']:
        raise GroundingDataError(
            f'{ann_file} has no image entries: nothing to train on; '
            f'{MDETR_SOURCES}.')
    entries: Dict[object, dict] = {}
    for img in data['images']:
        if not isinstance(img, dict):
            raise GroundingDataError(
                f'{ann_file}: "images" holds {img!r}, not an image entry.')
        iid = img.get('id')
        where = f'{ann_file}: image id {iid}'
        if iid is None or iid in entries:
            raise GroundingDataError(
                f'{where}: {"missing" if iid is None else "duplicate"} '
                'image id; give every image entry its own id.')
        for key in ('file_name', 'caption'):
            if key not in img:
                raise GroundingDataError(
                    f'{where} has no "{key}" (an MDETR grounding entry has '
                    'id, file_name, height, width and caption); fix or '
                    'remove the entry.')
        caption = img['caption']
        if not isinstance(caption, str) or not caption.strip():
            raise GroundingDataError(
                f'{where}: caption {caption!r} is not a non-empty string; '
                'fix or remove the entry.')
        w, h = img.get('width'), img.get('height')
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                   and v > 0 for v in (w, h)):
            raise GroundingDataError(
                f'{where}: width {w!r} / height {h!r} must be positive '
                'numbers (the image size); fix the entry.')
        entries[iid] = dict(
            img_id=iid, file_name=img['file_name'], width=w, height=h,
            caption=caption, data_source=img.get('data_source'),
            boxes=[], num_anns=0, outside=0)
    no_phrase, outside = 0, []
    for ann in data['annotations']:
        if not isinstance(ann, dict):
            raise GroundingDataError(
                f'{ann_file}: "annotations" holds {ann!r}, not an '
                'annotation.')
        aid, iid = ann.get('id'), ann.get('image_id')
        where = f'{ann_file}: annotation id {aid} (image id {iid})'
        entry = entries.get(iid)
        if entry is None:
            raise GroundingDataError(
                f'{where}: image id {iid!r} is not in "images"; fix or '
                'remove the annotation.')
        bbox = ann.get('bbox')
        if not finite_box(bbox) or bbox[2] < 0 or bbox[3] < 0:
            raise GroundingDataError(
                f'{where}: bbox {bbox!r} is not [x, y, width, height] '
                '(four finite numbers, width and height >= 0); fix or '
                'remove the annotation.')
        if 'tokens_positive' not in ann:
            raise GroundingDataError(
                f'{where} has no "tokens_positive" (the caption spans it '
                f'grounds): not an MDETR grounding file; {MDETR_SOURCES}.')
        entry['num_anns'] += 1
        spans = ann['tokens_positive']
        if isinstance(spans, list) and not spans:
            no_phrase += 1
            continue
        spans = _spans(spans, entry['caption'], f'{where}: tokens_positive')
        if _outside(bbox, entry['width'], entry['height']):
            outside.append((aid, iid, list(bbox), entry['width'],
                            entry['height']))
            entry['outside'] += 1
            continue
        x, y, w, h = bbox
        entry['boxes'].append(([x, y, x + w, y + h], spans))
    for entry in entries.values():
        if not entry['boxes'] and not entry['outside']:
            where = f'{ann_file}: image id {entry["img_id"]}'
            if entry['num_anns']:
                raise GroundingDataError(
                    f'{where}: caption {entry["caption"][:80]!r} has no '
                    f'positive phrase: none of its {entry["num_anns"]} '
                    'boxes has tokens_positive spans; add the spans or '
                    'remove the entry.')
            raise GroundingDataError(
                f'{where} ({entry["file_name"]}) has no box: nothing to '
                'ground; remove the entry from "images".')
    return list(entries.values()), dict(no_phrase=no_phrase, outside=outside)


@lru_cache(maxsize=None)
def _load_tokenizer(name: str):
    from mmglip.models.language import load_tokenizer
    return load_tokenizer(name)


def caption_cut(tokenizer, caption: str, max_tokens: int) -> Optional[int]:
    """Where to cut ``caption`` so that it fits ``max_tokens`` tokens
    ([CLS] and [SEP] included): the end character of the last token that
    fits, or None when the caption fits whole."""
    from mmglip.text.positive_map import count_tokens, token_offsets
    offsets = token_offsets(tokenizer, caption)
    if len(offsets) <= max_tokens:
        return None
    words = [o for o in offsets if o[1] > o[0]]  # no special tokens
    keep = max_tokens - (len(offsets) - len(words))
    while keep > 0:
        cut = words[keep - 1][1]
        if count_tokens(tokenizer, caption[:cut]) <= max_tokens:
            return cut
        keep -= 1  # a tokenizer that splits the cut prefix differently
    return 0


@DATASETS.register_module()
class GroundingDataset(BaseDetDataset):
    """Captions with per-box phrase spans (MDETR format, e.g. GoldG), for
    training; checked when loaded (see the module docstring).

    Each sample: ``img_path``, ``img_id``, ``height``, ``width``, ``text``
    (the caption, cut to ``max_tokens`` tokens if longer),
    ``tokens_positive`` (per entity its ``[start, end)`` spans) and
    ``instances`` (per box ``bbox`` ``[x1, y1, x2, y2]``, ``bbox_label`` =
    its entity index, ``ignore_flag`` 0). Put ``'text'`` and
    ``'tokens_positive'`` into ``PackDetInputs``' ``meta_keys``.

    Metainfo: ``classes`` is ``()`` (labels index each sample's own
    entities, there is no class list); in a ``ConcatDataset`` with
    detection sets, ignore ``classes`` and ``palette``.

    Args:
        tokenizer (str): the language model's name (local directory, hub
            name or ``package://``; keep it ``model.language_model.name``),
            loaded with ``load_tokenizer`` the first time a caption may be
            too long. Only captions longer than ``max_tokens - 2`` bytes
            (UTF-8) are tokenized: each token covers at least one byte.
        max_tokens (int): tokens the language model reads. Defaults to 256.
        img_prefixes (dict, optional): per ``data_source`` its image folder
            (``dict(coco='data/coco/train2014/', vg='data/gqa/images/')``),
            relative to ``data_root``; replaces ``data_prefix.img``.
        check_images (bool): check that every image file exists.
        **kwargs: as mmdet's ``BaseDetDataset`` (``data_prefix.img``: the
            image folder when there are no ``img_prefixes``).
    """

    METAINFO = dict(classes=())
    #: boxes outside their image named in the warning (the rest counted)
    MAX_NAMED = 3

    def __init__(self, *args, tokenizer=None, max_tokens: int = 256,
                 img_prefixes: Optional[Dict[str, str]] = None,
                 check_images: bool = True, **kwargs) -> None:
        if tokenizer is None:
            raise GroundingDataError(
                'GroundingDataset needs `tokenizer`: the language model\'s '
                'name (model.language_model.name) to count caption tokens.')
        if not isinstance(max_tokens, int) or max_tokens < 3:
            raise GroundingDataError(
                f'GroundingDataset: max_tokens={max_tokens!r} must be an '
                'int >= 3 (the language model\'s limit, e.g. 256).')
        self._tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.img_prefixes = None if img_prefixes is None else \
            dict(img_prefixes)
        self.check_images = check_images
        self.dropped = dict(boxes=0, captions=0, images=0, no_phrase=0,
                            outside=0)
        self._outside: List[tuple] = []
        super().__init__(*args, **kwargs)

    @property
    def tokenizer(self):
        """The tokenizer (loaded on first use, once per process)."""
        if isinstance(self._tokenizer, str):
            return _load_tokenizer(self._tokenizer)
        return self._tokenizer

    def _folders(self, entries: List[dict]) -> Dict[object, str]:
        """Image folder per data_source (key None: ``data_prefix.img``)."""
        if self.img_prefixes is None:
            return {None: self.data_prefix.get('img', '')}
        folders = {}
        for key, folder in self.img_prefixes.items():
            if self.data_root and not is_abs(folder) and \
                    not is_remote(folder):
                folder = osp.join(self.data_root, folder)
            folders[key] = folder
        for e in entries:
            if e['data_source'] not in folders:
                raise GroundingDataError(
                    f'{self.ann_file}: image id {e["img_id"]}: data_source '
                    f'{e["data_source"]!r} has no image folder; img_prefixes'
                    f' knows {sorted(folders)}: add it to img_prefixes.')
        return folders

    def _check_files(self, folders: Dict[object, str],
                     paths: List[str]) -> None:
        if not self.check_images or self.backend_args or any(
                is_remote(f) for f in folders.values()):
            return
        problem = missing_images(
            paths, self.ann_file,
            'put the images there or fix data_root / data_prefix / '
            'img_prefixes (check_images=False skips this check)')
        if problem:
            raise GroundingDataError(problem)

    def _fit(self, caption: str, boxes: list) -> Tuple[str, list]:
        """The caption cut to ``max_tokens`` and the boxes within it."""
        if len(caption.encode('utf-8')) <= self.max_tokens - 2:
            return caption, boxes
        cut = caption_cut(self.tokenizer, caption, self.max_tokens)
        if cut is None:
            return caption, boxes
        kept = [b for b in boxes if all(e <= cut for _, e in b[1])]
        self.dropped['captions'] += 1
        self.dropped['boxes'] += len(boxes) - len(kept)
        return caption[:cut], kept

    def load_data_list(self) -> List[dict]:
        entries, left_out = read_grounding(self.ann_file, self.backend_args)
        self.dropped['no_phrase'] = left_out['no_phrase']
        self._outside = left_out['outside']
        self.dropped['outside'] = len(self._outside)
        folders = self._folders(entries)
        key = None if self.img_prefixes is None else 'data_source'
        paths = [osp.join(folders[e[key] if key else None], e['file_name'])
                 for e in entries]
        self._check_files(folders, paths)
        data_list = []
        for e, path in zip(entries, paths):
            text, boxes = self._fit(e['caption'], e['boxes'])
            if not boxes:
                self.dropped['images'] += 1
                continue
            entity_of, tokens_positive, instances = {}, [], []
            for bbox, spans in boxes:
                span_set = tuple(sorted({tuple(s) for s in spans}))
                if span_set not in entity_of:
                    entity_of[span_set] = len(tokens_positive)
                    tokens_positive.append(spans)
                instances.append(dict(bbox=bbox,
                                      bbox_label=entity_of[span_set],
                                      ignore_flag=0))
            data_list.append(dict(
                img_path=path, img_id=e['img_id'], height=e['height'],
                width=e['width'], text=text,
                tokens_positive=tokens_positive, instances=instances))
        self._warn_dropped()
        return data_list

    def _warn_dropped(self) -> None:
        d = self.dropped
        parts = []
        if d['boxes']:
            parts.append(f'{d["boxes"]} boxes of {d["captions"]} captions '
                         f'lie beyond the {self.max_tokens}-token limit and '
                         'were dropped (the captions were cut)')
        elif d['captions']:
            parts.append(f'{d["captions"]} captions were cut to the '
                         f'{self.max_tokens}-token limit (no box lost)')
        if d['no_phrase']:
            parts.append(f'{d["no_phrase"]} boxes without a phrase (empty '
                         'tokens_positive) were dropped')
        if d['outside']:
            shown = self._outside[:self.MAX_NAMED]
            named = ', '.join(
                f'annotation id {aid} (image id {iid}): bbox {bbox} in a '
                f'{w}x{h} image' for aid, iid, bbox, w, h in shown)
            more = len(self._outside) - len(shown)
            parts.append(
                f'{d["outside"]} boxes lie wholly outside their image and '
                f'were dropped ({named}'
                + (f', and {more} more' if more else '') + '; fix the '
                'bbox [x, y, width, height] or the image\'s width / height)')
        if d['images']:
            parts.append(f'{d["images"]} images were left without a box and'
                         ' dropped')
        if parts:
            warnings.warn(f'{self.ann_file}: ' + '; '.join(parts) + '.',
                          GroundingDataWarning, stacklevel=2)


__all__ = ['GroundingDataset', 'GroundingDataError', 'GroundingDataWarning',
           'read_grounding', 'caption_cut', 'MDETR_SOURCES']
