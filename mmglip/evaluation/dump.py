"""The ``--out`` dump of tools/test.py: written before any metric runs, and
read back (checked) by tools/analysis/eval_metric.py.

A dump is what mmdet's ``DumpDetResults`` writes: a pickled list with one
dict per image (``img_id``, ``img_path``, ``ori_shape``, ...,
``pred_instances`` with ``bboxes`` / ``scores`` / ``labels``), so mmdet's
own tools read it as well.
"""
import logging
import os.path as osp
import pickle
from typing import List, Optional

from mmdet.evaluation import DumpDetResults
from mmengine.logging import print_log

from mmglip.registry import METRICS
from mmglip.errors import UserError
from mmglip.utils.io import atomic_write


class DumpFileError(UserError):
    """A file that is not a tools/test.py ``--out`` dump."""


def free_name(path: str) -> str:
    """``path``, or ``<stem>-1<ext>``, ``<stem>-2<ext>``, ... the first that
    does not exist."""
    stem, ext = osp.splitext(path)
    candidate, n = path, 0
    while osp.exists(candidate):
        n += 1
        candidate = f'{stem}-{n}{ext}'
    return candidate


@METRICS.register_module()
class DumpPredictions(DumpDetResults):
    """mmdet's ``DumpDetResults``, written whole or not at all
    (:func:`mmglip.utils.io.atomic_write`) and never over an existing file
    (a file that appeared since the run started makes it write beside it,
    ``<stem>-1.pkl``, and say so). Put it first in the evaluator's metrics,
    so the predictions are on disk before any metric can fail;
    ``written`` is the path once written."""
    default_prefix: Optional[str] = 'dump'

    def __init__(self, out_file_path: str, **kwargs) -> None:
        super().__init__(out_file_path=out_file_path, **kwargs)
        self.written: Optional[str] = None

    def compute_metrics(self, results: list) -> dict:
        path = free_name(self.out_file_path)
        if path != self.out_file_path:
            print_log(f'{self.out_file_path} appeared during the run; the '
                      f'predictions go to {path} instead', logger='current',
                      level=logging.WARNING)
        with atomic_write(path, 'wb') as f:
            pickle.dump(results, f)
        self.written = path
        print_log(f'predictions of {len(results)} images written to {path}',
                  logger='current')
        return {}


def _is_prediction(sample) -> bool:
    if not isinstance(sample, dict) or 'img_id' not in sample:
        return False
    pred = sample.get('pred_instances')
    return hasattr(pred, 'keys') and all(
        k in pred for k in ('bboxes', 'scores', 'labels'))


def load_dump(path: str) -> List[dict]:
    """The samples of a tools/test.py ``--out`` dump; a
    :class:`DumpFileError` (one line naming ``path``) when it is no such
    dump. Only open dumps you made: unpickling runs code the file names."""
    what = f'{path}: not a tools/test.py --out dump'
    try:
        with open(path, 'rb') as f:
            data = pickle.load(f)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
            AttributeError, ImportError, IndexError) as exc:
        reason = ' '.join(str(exc).split()).rstrip('.')
        raise DumpFileError(f'{what} (cannot be unpickled: '
                            f'{type(exc).__name__}: {reason}).')
    if not isinstance(data, (list, tuple)):
        raise DumpFileError(f'{what} (it holds a {type(data).__name__}; a '
                            'dump is a list of per-image predictions).')
    if not data:
        raise DumpFileError(f'{path}: the dump holds no predictions (an '
                            'empty list).')
    bad = next((i for i, s in enumerate(data) if not _is_prediction(s)),
               None)
    if bad is not None:
        raise DumpFileError(
            f'{what} (entry {bad} is a {type(data[bad]).__name__} without '
            'img_id and pred_instances with bboxes, scores and labels).')
    return list(data)


__all__ = ['DumpPredictions', 'DumpFileError', 'load_dump', 'free_name']
