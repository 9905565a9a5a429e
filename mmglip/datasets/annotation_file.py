"""Reading an annotation json a dataset was pointed at, and the checks of
its boxes and caption spans, with the one-line errors of that dataset
(LVIS, Flickr30k, grounding data)."""
import json
import math
import os.path as osp
from typing import Type

from mmengine.fileio import get_local_path


def is_remote(path) -> bool:
    """A URL-like path (``s3://``, ``http://``...): not checked on disk."""
    return '://' in str(path)


def load_annotation_json(ann_file: str, backend_args, error: Type[Exception],
                         kind: str, sources: str):
    """The parsed json of ``ann_file``.

    Args:
        error: the dataset's error class (a ``UserError``).
        kind: what the file is, for the message (``'LVIS'``).
        sources: where to get it (ends the messages).

    Raises:
        error: the local file does not exist or is not json; the message
            names the file and where to get it.
    """
    if not backend_args and not is_remote(ann_file) and \
            not osp.isfile(ann_file):
        raise error(f'{kind} annotation file {ann_file} does not exist; '
                    f'{sources}.')
    with get_local_path(ann_file, backend_args=backend_args) as local_path:
        try:
            with open(local_path, encoding='utf-8') as f:
                return json.load(f)
        except ValueError as exc:
            raise error(f'{ann_file} cannot be read as json ({exc}); '
                        f'{sources}.') from exc


def finite_box(bbox) -> bool:
    """Four finite numbers (not booleans)."""
    return (isinstance(bbox, (list, tuple)) and len(bbox) == 4 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool)
        and math.isfinite(v) for v in bbox))


def check_spans(spans, caption: str, where: str, error: Type[Exception],
                hint: str = '') -> None:
    """``spans``: a non-empty list of ``[start, end]`` int character spans
    inside ``caption``, each with ``start < end``; else ``error`` naming
    ``where`` (+ ``hint``): a reversed or empty span is called so, one
    beyond the caption's ends is said to lie outside it."""
    if not (isinstance(spans, (list, tuple)) and len(spans) > 0 and all(
            isinstance(s, (list, tuple)) and len(s) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in s)
            for s in spans)):
        raise error(f'{where}: {spans!r} is not a non-empty list of '
                    f'[start, end] character spans{hint}.')
    for beg, end in spans:
        if end < beg:
            raise error(f'{where}: span [{beg}, {end}] is reversed (its end '
                        'comes before its start; spans are [start, end) '
                        f'character offsets, e.g. [{end}, {beg}]){hint}')
        if end == beg:
            raise error(f'{where}: span [{beg}, {end}] is empty (end equals '
                        'start; spans are [start, end) character offsets)'
                        f'{hint}')
        if not 0 <= beg < end <= len(caption):
            raise error(f'{where}: span [{beg}, {end}] lies outside its '
                        f'caption (length {len(caption)}): {caption!r}'
                        f'{hint}')
