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
* a key LVISEval cannot score (APr of a set without rare categories with
  boxes: -1 in ``lvis``) is "n/a (no rare categories with boxes)" in the
  printed table and NaN in the returned metrics (:func:`results_table`);
* a missing annotation file is one line naming it and where to get it.
"""
import contextlib
import copy
import logging
import os.path as osp
from typing import Dict, Optional

import numpy as np
from mmdet.evaluation.metrics.lvis_metric import \
    LVISFixedAPMetric as MMDetLVISFixedAP
from mmengine.logging import print_log

from mmglip.datasets.lvis import LVIS_SOURCES, LVISDataError
from mmglip.registry import METRICS
from mmglip.utils.io import atomic_write_json

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
            atomic_write_json(path, dets)
            print_log(f'LVIS detections written to {path}', logger='current')
        if self.format_only:
            return {}
        if not dets:
            print_log('LVISFixedAPMetric: no detections at all; every AP '
                      'is 0.', logger='current', level=logging.WARNING)
            return {k: 0.0 for k in AP_KEYS}
        from lvis import LVISEval, LVISResults

        # (LVISResults adds keys to the dicts, already written above, and
        # says it "assumes the results are in the correct format" whenever
        # it is given a list: kept quiet)
        with numpy_float_alias(), _quiet('lvis.results'):
            found = LVISResults(self._lvis_api, dets, max_dets=-1)
            lvis_eval = LVISEval(self._lvis_api, found, iou_type='bbox')
            lvis_eval.params.max_dets = -1  # Fixed AP: no per-image cap
            lvis_eval.run()
        print_log('\n' + results_table(
            lvis_eval.results, lvis_eval.params.iou_thrs,
            lvis_eval.params.max_dets), logger='current')
        # -1 (LVISEval's "nothing to score") -> NaN: see results_table
        return {
            k: float('nan') if v == -1 else float(v)
            for k, v in lvis_eval.results.items() if k in AP_KEYS
        }


@contextlib.contextmanager
def _quiet(name: str):
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


#: why LVISEval reports -1 for a key: the group it averages over has no
#: ground-truth box in the evaluated images
_GROUPS = dict(s='small boxes', m='medium boxes', l='large boxes',
               r='rare categories with boxes',
               c='common categories with boxes',
               f='frequent categories with boxes')


def absent_reason(key: str) -> str:
    """Why ``key`` (``APr``, ``ARs@300``, ...) has no value: "no rare
    categories with boxes", "no small boxes", "no boxes"."""
    group = key[2:3]
    return f'no {_GROUPS[group]}' if group in _GROUPS else 'no boxes'


def results_table(results: Dict[str, float], iou_thrs,
                  max_dets: int = -1) -> str:
    """LVISEval's results as its ``print_results`` lays them out, with
    "n/a (<reason>)" where it has -1 (a group without boxes: APr of a set
    without rare categories), so the value is never read as a score.

    The metric returns NaN for these keys, not -1: a number that no one
    reads as a score, that ``max`` / best-checkpoint rules never pick, and
    that an average over runs carries on (``numpy.nanmean`` skips it)
    instead of being pulled down by -1.
    """
    lines = []
    for key, value in results.items():
        kind = 'Average Precision  (AP)' if key.startswith('AP') else \
            'Average Recall     (AR)'
        iou = (f'{float(key[2:4]) / 100:0.2f}' if key[2:4].isdigit() else
               f'{iou_thrs[0]:0.2f}:{iou_thrs[-1]:0.2f}')
        group = key[2:3]
        area = group if group and group in 'sml' else 'all'
        cats = group if group and group in 'rcf' else 'all'
        shown = (f'n/a ({absent_reason(key)})' if value == -1 else
                 f'{value:0.3f}')
        lines.append(f' {kind} @[ IoU={iou:<9} | area={area:>6s} | '
                     f'maxDets={max_dets:>3d} catIds={cats:>3s}] = {shown}')
    return '\n'.join(lines)


__all__ = ['LVISFixedAPMetric', 'numpy_float_alias', 'AP_KEYS',
           'absent_reason', 'results_table']
