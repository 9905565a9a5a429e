"""Does a metric's ground truth hold the images it is asked to score?

A metric scores predictions against its own annotation file
(``test_evaluator.ann_file``); the predictions come from the dataset's file
(``test_dataloader.dataset.ann_file``) or from a ``--out`` dump. When the two
files hold different images, the ``lvis`` package fails with ``AssertionError:
Results do not correspond to current LVIS set.`` (pycocotools likewise) -
after all the inference. :func:`check_images_covered` says so in one line
before any inference (tools/test.py) or any scoring
(tools/analysis/eval_metric.py).

Image ids alone do not tell files apart where ids restart at 0 in every file
(ODinW's splits, Flickr30k's sentences), so an image's file name is compared
too wherever both sides have one.
"""
import os.path as osp
from typing import Dict, Iterable, List, Optional, Tuple

from mmglip.errors import UserError

#: {image id: file name (basename) or None}
Images = Dict[object, Optional[str]]


class GroundTruthMismatch(UserError):
    """Predictions of images the metric's ground truth does not hold."""


def _basename(path) -> Optional[str]:
    return osp.basename(str(path)) if path else None


def metric_images(metric) -> Optional[Tuple[str, Images]]:
    """``(file, images)`` of the ground truth ``metric`` scores against, or
    None when it has none of its own (a dump, a metric that takes its ground
    truth from the samples). ``file`` names the annotation file (or says
    where it is set)."""
    from mmglip.datasets.lvis import image_file_name
    from .flickr30k_metric import Flickr30kMetric
    where = (getattr(metric, 'gt_file', None) or getattr(
        metric, 'ann_file', None) or 'test_evaluator.ann_file')
    lvis = getattr(metric, '_lvis_api', None)
    if lvis is not None:
        return str(where), {
            iid: _basename(image_file_name(img))
            for iid, img in lvis.imgs.items()
        }
    coco = getattr(metric, '_coco_api', None)
    if coco is not None:
        return str(where), {
            iid: _basename(img.get('file_name'))
            for iid, img in coco.imgs.items()
        }
    if isinstance(metric, Flickr30kMetric):
        return str(where), {
            iid: _basename(name) for iid, name in metric.file_names.items()
        }
    return None


def dataset_images(dataset) -> Images:
    """``{img_id: file name}`` of every sample of ``dataset`` (any mmengine
    dataset: ``get_data_info``)."""
    out = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        out[info.get('img_id')] = _basename(info.get('img_path'))
    return out


def dump_images(samples: Iterable[dict]) -> Images:
    """``{img_id: file name}`` of the samples of a ``--out`` dump."""
    return {s.get('img_id'): _basename(s.get('img_path')) for s in samples}


def uncovered(images: Images, gt: Images, here: str = 'the predictions',
              there: str = 'the ground truth') -> List[str]:
    """Why each image of ``images`` (``here``) is not in ``gt``
    (``there``): absent, or there under another file name."""
    out = []
    for iid, name in images.items():
        if iid not in gt:
            out.append(f'image id {iid}' + (f' ({name})' if name else '')
                       + f' is not in {there}')
        elif name and gt[iid] and name != gt[iid]:
            out.append(f'image id {iid} is {name} in {here} but {gt[iid]} '
                       f'in {there}')
    return out


def check_images_covered(images: Images, source: str, metrics,
                         key: str = 'test_evaluator.ann_file',
                         fix: str = '', here: str = 'the predictions'
                         ) -> List[str]:
    """Raise :class:`GroundTruthMismatch` (one line naming both files) when
    a metric's ground truth lacks an image of ``images`` (described by
    ``source``, e.g. "the dataset's file X", and ``here``, e.g. "the
    dataset"); returns warnings for the reverse: ground-truth images nothing
    predicts for, which AP counts as misses.
    """
    from .flickr30k_metric import Flickr30kMetric
    warnings = []
    for metric in metrics:
        found = metric_images(metric)
        if found is None:
            continue
        gt_file, gt = found
        problems = uncovered(images, gt, here, there=key)
        if problems:
            count = (f'{len(problems)} of the {len(images)} images'
                     if len(problems) < len(images) else
                     f'none of the {len(images)} images')
            raise GroundTruthMismatch(
                f'{key} {gt_file} ({type(metric).__name__}) holds {count} '
                f'of {source} ({problems[0]}): '
                + (fix or f'set {key} to that file, or leave the two '
                   'the same') + '.')
        extra = len(set(gt) - set(images))
        # Flickr30kMetric scores the sentences it saw (and says so)
        if extra and not isinstance(metric, Flickr30kMetric):
            warnings.append(
                f'{key} {gt_file} holds {extra} image(s) besides the '
                f'{len(images)} of {source}; {type(metric).__name__} '
                'counts their boxes as missed.')
    return warnings


__all__ = ['GroundTruthMismatch', 'metric_images', 'dataset_images',
           'dump_images', 'uncovered', 'check_images_covered']
