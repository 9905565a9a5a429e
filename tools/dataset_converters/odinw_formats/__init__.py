"""Convert detection datasets to the ODinW layout (the library of
``tools/dataset_converters/to_odinw.py``; offline tooling, not part of the
``mmglip`` package).

Output (``DST``)::

    DST/train/<images> + annotations_without_background.json
    DST/valid/...
    DST/test/...        (splits the data has, or the seeded split's)

With ``layout=TaskLayout(...)`` (``to_odinw.py --task NAME``: ``DST`` is
then ``<ODinW root>/<the task's root>``) each split goes to the folder the
task reads it from (``valid`` -> ``mini_val`` for EgoHands) and the classes
must be the task config's, in its order, or nothing is written.

Each json is COCO detection: ``images`` (ids from 1 in file-name order for
VOC / YOLO, ``width`` / ``height`` read from the image itself),
``annotations`` (``bbox`` as absolute ``[x, y, w, h]``, ``area``,
``iscrowd``) and ``categories`` (ids 1..N).

Formats (each module's docstring says how it is read): ``voc``
(:mod:`.voc`), ``yolo`` (:mod:`.yolo`), ``roboflow-coco`` (:mod:`.roboflow`).

Every image written is decoded in full first (VOC and YOLO need its size
anyway): a truncated file, a file cut short or one that is not an image at
all stops the conversion with a :class:`ConversionError` naming every such
source file and the decoder's reason, before anything is written (a
Roboflow image whose real size differs from its json entry is named in the
warnings).

Nothing is lost: every box of the source is written, unchanged apart from
the coordinate conversion. Boxes that
:func:`mmglip.datasets.validation.validate_coco` warns about (outside the
image, zero area) are kept in the file and named in
``ConversionResult.warnings``; :class:`~mmglip.datasets.ODinWDataset`
clips / drops them at load time. Errors (a missing or undecodable image, a
class index out of range, an unreadable label line) stop the conversion.

``DST`` must not exist or be an empty folder: the converter never
overwrites. It writes to a temporary folder beside ``DST`` and renames it at
the end (:mod:`.write`), so a failed conversion leaves nothing behind.
"""
import os.path as osp

from .common import (ANN_NAME, DEFAULT_SPLIT, FORMATS, SPLITS,
                     ConversionError, ConversionResult, TaskLayout,
                     check_dst, seeded_split)
from .roboflow import convert_roboflow_coco
from .voc import convert_voc
from .yolo import convert_yolo


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
    'ConversionError', 'ConversionResult', 'TaskLayout', 'convert',
    'convert_voc', 'convert_yolo', 'convert_roboflow_coco', 'seeded_split',
    'check_dst', 'ANN_NAME', 'SPLITS', 'DEFAULT_SPLIT', 'FORMATS'
]
