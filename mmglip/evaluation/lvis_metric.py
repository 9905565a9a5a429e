"""LVIS Fixed AP (Dave et al. 2021), as GLIP's LVIS zero-shot results are
scored: per category the top ``topk`` (10,000) detections over the whole
dataset, no per-image cap, evaluated by the ``lvis`` package's ``LVISEval``.

mmdet's ``LVISFixedAPMetric`` does the per-category top-k; this subclass
adds what it lacks here:

* ``lvis`` 0.5.3 (the release on PyPI) uses ``np.float``, which numpy 1.24
  removed, so ``LVISEval`` raises AttributeError on current numpy. The alias
  is provided only while the evaluation runs (:func:`numpy_float_alias`).
* labels map to category ids by class *name* (the dataset's classes), not by
  position in the annotation file, and a class the file lacks is an error;
* ``outfile_prefix`` writes the evaluated detections to
  ``<prefix>.bbox.json`` (LVIS result format), ``format_only`` stops there;
* no detections at all gives AP 0 instead of an IndexError in ``lvis``;
* a missing annotation file is one line naming it and where to get it.
"""
import contextlib
import copy
import json
import logging
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, Optional

import numpy as np
from mmdet.evaluation.metrics.lvis_metric import \
    LVISFixedAPMetric as MMDetLVISFixedAP
from mmengine.logging import print_log

from mmglip.datasets.lvis import LVIS_SOURCES, LVISDataError
from mmglip.registry import METRICS

#: the summary keys of LVISEval that are APs
AP_KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')


@contextlib.contextmanager
def numpy_float_alias():
    """Provide ``np.float`` (the builtin ``float``) inside the block only.

    ``lvis`` 0.5.3, the latest ``lvis`` on PyPI, calls
    ``np.cumsum(...).astype(dtype=np.float)`` in ``LVISEval.accumulate``;
    numpy removed that alias in 1.24 (AttributeError). The fix exists only in
    the lvis-api repository's master. Rather than patch numpy for the whole
    process (other code would then silently accept the deprecated alias),
    the alias exists while an LVIS evaluation runs and is removed after.
    With a numpy that still has ``np.float`` nothing is changed.
    """
    if 'float' in vars(np):
        yield
        return
    np.float = float
    try:
        yield
    finally:
        if vars(np).get('float') is float:
            del np.float


@METRICS.register_module()
class LVISFixedAPMetric(MMDetLVISFixedAP):
    """LVIS box Fixed AP: AP, AP50, AP75, APs/m/l and APr/APc/APf.

    Args:
        ann_file (str): the LVIS annotation file (the dataset's).
        topk (int): detections kept per category over the dataset
            (official: 10000).
        format_only (bool): only write ``<outfile_prefix>.bbox.json``.
        outfile_prefix (str, optional): write the evaluated detections to
            ``<outfile_prefix>.bbox.json``.
        collect_device, prefix, backend_args: as mmdet's metric.
    """
    default_prefix: Optional[str] = 'lvis_fixed_ap'

    def __init__(self, ann_file: str, topk: int = 10000,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        if format_only and not outfile_prefix:
            raise LVISDataError('LVISFixedAPMetric: format_only=True needs '
                                'outfile_prefix (where to write).')
        if not backend_args and '://' not in str(ann_file) and \
                not osp.isfile(ann_file):
            raise LVISDataError(
                f'LVIS annotation file {ann_file} (test_evaluator.ann_file) '
                f'does not exist; {LVIS_SOURCES}.')
        super().__init__(ann_file, topk=topk, format_only=format_only,
                         outfile_prefix=outfile_prefix,
                         collect_device=collect_device, prefix=prefix,
                         backend_args=backend_args)
        self.ann_file = ann_file
        self._name2id = {
            c['name']: c['id']
            for c in self._lvis_api.dataset['categories']
        }

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        """Labels -> category ids by the dataset's class names."""
        self._dataset_meta = copy.deepcopy(dataset_meta)
        classes = (dataset_meta or {}).get('classes')
        if not classes:
            return  # the file's order (mmdet's default)
        absent = [c for c in classes if c not in self._name2id]
        if absent:
            raise LVISDataError(
                f'the dataset classes {absent[:5]} are not categories of '
                f'{self.ann_file}: test_evaluator.ann_file must be the '
                'dataset\'s annotation file.')
        self.cat_ids = [self._name2id[c] for c in classes]

    def _top_detections(self, results: dict) -> list:
        """The detections LVISEval scores: per category the top ``topk``,
        as plain floats (json-ready)."""
        dets = []
        for cat_anns in results.values():
            ranked = sorted(cat_anns, key=lambda a: a['score'],
                            reverse=True)[:self.topk]
            dets.extend(
                dict(image_id=a['image_id'], category_id=int(
                    a['category_id']), bbox=[float(v) for v in a['bbox']],
                     score=float(a['score'])) for a in ranked)
        return dets

    def compute_metrics(self, results: dict) -> Dict[str, float]:
        dets = self._top_detections(results)
        if self.outfile_prefix:
            path = f'{self.outfile_prefix}.bbox.json'
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            with open(path, 'w') as f:
                json.dump(dets, f)
            print_log(f'LVIS detections written to {path}', logger='current')
        if self.format_only:
            return {}
        if not dets:
            print_log('LVISFixedAPMetric: no detections at all; every AP '
                      'is 0.', logger='current', level=logging.WARNING)
            return {k: 0.0 for k in AP_KEYS}
        by_cat = defaultdict(list)  # LVISResults adds keys: give copies
        for det in dets:
            by_cat[det['category_id']].append(dict(det))
        with numpy_float_alias():
            metrics = super().compute_metrics(by_cat)
        return {k: float(v) for k, v in metrics.items()}


__all__ = ['LVISFixedAPMetric', 'numpy_float_alias', 'AP_KEYS']
