"""Flickr30k Entities phrase grounding, MDETR's annotation format.

MDETR's ``final_flickr_separateGT_{train,val,test}.json`` is COCO-like with
one *image entry per sentence*: the entry carries the ``caption``, the
phrases to evaluate as ``tokens_positive_eval`` (per phrase, a list of
``[start, end)`` character spans) and ``sentence_id`` /
``original_img_id``; each annotation is a box with the ``tokens_positive``
spans of the phrase(s) it grounds. A phrase's target boxes are the
annotations that share one of its spans (``separateGT``: each box of the
phrase on its own; ``mergedGT`` files hold one enclosing box per phrase).

Each sample's ``text`` is the caption and ``tokens_positive`` its
evaluation phrases, so GLIP predicts with the caption as the prompt and
labels = phrase index (``GLIP.build_prompts``); sentences without a phrase
to evaluate are left out. The file is checked when it
is loaded: errors are :class:`Flickr30kDataError`, one line naming the
file, the entry and the value.
"""
import os.path as osp
from typing import Dict, List

from mmdet.datasets import Flickr30kDataset as MMDetFlickr30kDataset

from mmglip.registry import DATASETS
from mmglip.errors import UserError
from mmglip.utils.images import missing_images
from .annotation_file import (check_spans, finite_box, is_remote,
                              load_annotation_json)

FLICKR30K_SOURCES = (
    'annotations: MDETR\'s final_flickr_separateGT_{val,test}.json from '
    'https://zenodo.org/record/4729015/files/mdetr_annotations.tar.gz; '
    'images: Flickr30k (https://shannon.cs.illinois.edu/DenotationGraph/) in '
    'data/flickr30k_entities/flickr30k_images/')


class Flickr30kDataError(UserError):
    """A Flickr30k annotation file or image folder that cannot be used."""


def read_flickr30k(ann_file: str, backend_args=None) -> List[dict]:
    """Read and check an MDETR-format Flickr30k file.

    Returns:
        one dict per image entry (sentence), in file order: ``img_id``,
        ``file_name``, ``width``, ``height``, ``caption``, ``phrases`` (per
        phrase its spans), ``phrase_boxes`` (per phrase its target boxes,
        ``[x1, y1, x2, y2]``), ``sentence_id``, ``original_img_id``.

    Raises:
        Flickr30kDataError: the file is missing or malformed, a span lies
            outside its caption, an annotation names an unknown image, a
            phrase has no box; one line naming the file and the entry.
    """
    data = load_annotation_json(ann_file, backend_args, Flickr30kDataError,
                                'Flickr30k', FLICKR30K_SOURCES)
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), list) for k in ('images', 'annotations')):
        raise Flickr30kDataError(
            f'{ann_file} is not an MDETR Flickr30k file: it needs the lists '
            f'"images" and "annotations"; {FLICKR30K_SOURCES}.')
    entries: Dict[object, dict] = {}
    for img in data['images']:
        iid = img.get('id')
        where = f'{ann_file}: image id {iid}'
        if iid in entries:
            raise Flickr30kDataError(f'{where} appears twice.')
        for key in ('file_name', 'caption', 'tokens_positive_eval'):
            if key not in img:
                raise Flickr30kDataError(
                    f'{where} has no "{key}" (an MDETR Flickr30k entry has '
                    'file_name, caption and tokens_positive_eval).')
        caption = img['caption']
        phrases = img['tokens_positive_eval']
        if not isinstance(caption, str) or not isinstance(phrases, list):
            raise Flickr30kDataError(
                f'{where}: caption must be a string and tokens_positive_eval'
                ' a list of span lists.')
        for i, spans in enumerate(phrases):
            check_spans(spans, caption, f'{where}: tokens_positive_eval '
                        f'phrase #{i}', Flickr30kDataError)
        w, h = img.get('width'), img.get('height')
        entries[iid] = dict(
            img_id=iid, file_name=img['file_name'], width=w, height=h,
            caption=caption, phrases=[[list(s) for s in p] for p in phrases],
            phrase_boxes=[[] for _ in phrases],
            sentence_id=img.get('sentence_id'),
            original_img_id=img.get('original_img_id'))
    for ann in data['annotations']:
        aid, iid = ann.get('id'), ann.get('image_id')
        where = f'{ann_file}: annotation id {aid} (image id {iid})'
        entry = entries.get(iid)
        if entry is None:
            raise Flickr30kDataError(
                f'{where}: image id {iid} is not in "images".')
        if not finite_box(ann.get('bbox')):
            raise Flickr30kDataError(
                f'{where}: bbox {ann.get("bbox")!r} is not four finite '
                'numbers [x, y, width, height].')
        spans = ann.get('tokens_positive')
        check_spans(spans, entry['caption'], f'{where}: tokens_positive',
                    Flickr30kDataError)
        own = {tuple(s) for s in spans}
        x, y, w, h = ann['bbox']
        for i, phrase in enumerate(entry['phrases']):
            if any(tuple(s) in own for s in phrase):
                entry['phrase_boxes'][i].append([x, y, x + w, y + h])
    for entry in entries.values():
        for i, boxes in enumerate(entry['phrase_boxes']):
            if not boxes:
                span = entry['phrases'][i][0]
                raise Flickr30kDataError(
                    f'{ann_file}: image id {entry["img_id"]}: phrase #{i} '
                    f'{entry["caption"][span[0]:span[1]]!r} (span {span}) '
                    'has no box: no annotation of the image has this span '
                    'in its tokens_positive.')
    return list(entries.values())


@DATASETS.register_module()
class Flickr30kDataset(MMDetFlickr30kDataset):
    """Flickr30k Entities (MDETR format), checked when loaded.

    Each sample: ``text`` = the caption, ``tokens_positive`` = the
    evaluation phrases' spans (GLIP labels = phrase index), ``phrases`` (the
    phrase texts), one gt instance per (box, phrase) with ``bbox_label`` =
    the phrase index and ``phrase_ids`` the same per instance (mmdet's
    convention).

    Args:
        check_images (bool): check that every image exists on disk.
        **kwargs: as mmdet's ``BaseDetDataset`` (``data_prefix.img``: the
            Flickr30k images folder).
    """

    def __init__(self, *args, check_images: bool = True, **kwargs) -> None:
        self.check_images = check_images
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        entries = read_flickr30k(self.ann_file, self.backend_args)
        img_root = self.data_prefix.get('img', '')
        if self.check_images and not self.backend_args and \
                not is_remote(img_root):
            problem = missing_images(
                [osp.join(img_root, e['file_name']) for e in entries],
                self.ann_file, FLICKR30K_SOURCES)
            if problem:
                raise Flickr30kDataError(problem)
        data_list = []
        for e in entries:
            if not e['phrases']:
                continue  # no phrase with a box: nothing to ground or score
            instances, phrase_ids = [], []
            for i, boxes in enumerate(e['phrase_boxes']):
                for box in boxes:
                    instances.append(
                        dict(bbox=list(box), bbox_label=i, ignore_flag=0))
                    phrase_ids.append(i)
            data_list.append(
                dict(img_path=osp.join(img_root, e['file_name']),
                     img_id=e['img_id'], height=e['height'],
                     width=e['width'], text=e['caption'],
                     tokens_positive=e['phrases'],
                     phrases=[e['caption'][p[0][0]:p[0][1]]
                              for p in e['phrases']],
                     phrase_ids=phrase_ids, instances=instances,
                     sentence_id=e['sentence_id'],
                     original_img_id=e['original_img_id']))
        return data_list


__all__ = ['Flickr30kDataset', 'Flickr30kDataError', 'read_flickr30k',
           'FLICKR30K_SOURCES']
