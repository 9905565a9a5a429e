"""Flickr30k Entities phrase grounding recall, as GLIP / MDETR report it.

For every phrase of every sentence (``tokens_positive_eval`` of the MDETR
file), the boxes the model gave that phrase (label = phrase index) ranked by
score; Recall@k counts the phrases whose top k boxes include one with IoU >=
0.5 against a target box of the phrase (``Upper_bound``: any box). A phrase
without predictions counts as a miss. Targets come from the annotation file
(not from the data pipeline): the boxes sharing a span with the phrase
(official GLIP default ``FLICKR_GT_TYPE="separate"``: each box on its own);
``merge_boxes=True`` replaces them by their enclosing box (MDETR's
"mergedGT" protocol; a mergedGT file already holds one box per phrase).

mmdet's ``Flickr30kMetric`` is the base (its recall bookkeeping); this one
reads the targets from ``ann_file``, ranks predictions by score, merges boxes
correctly and reports flat ``Recall@k`` keys.
"""
import logging
from typing import Dict, Optional, Sequence

import numpy as np
from mmdet.evaluation.functional import bbox_overlaps
from mmdet.evaluation.metrics import Flickr30kMetric as MMDetFlickr30kMetric
from mmdet.evaluation.metrics.flickr30k_metric import RecallTracker
from mmengine.logging import print_log

from mmglip.datasets.flickr30k import Flickr30kDataError, read_flickr30k
from mmglip.registry import METRICS


@METRICS.register_module()
class Flickr30kMetric(MMDetFlickr30kMetric):
    """Recall@k of phrase grounding on an MDETR-format Flickr30k file.

    Args:
        ann_file (str): the dataset's annotation file
            (``final_flickr_separateGT_{val,test}.json``).
        topk (Sequence[int]): the k of Recall@k; -1 is the upper bound
            (any predicted box).
        iou_thrs (float): IoU for a hit (official 0.5).
        merge_boxes (bool): score against the enclosing box of each phrase's
            targets instead of each target box.
        collect_device, prefix: as mmengine's ``BaseMetric``.
    """
    default_prefix: Optional[str] = 'flickr30k'

    def __init__(self, ann_file: str, topk: Sequence[int] = (1, 5, 10, -1),
                 iou_thrs: float = 0.5, merge_boxes: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(topk=tuple(topk), iou_thrs=iou_thrs,
                         merge_boxes=merge_boxes,
                         collect_device=collect_device, prefix=prefix)
        self.ann_file = ann_file
        entries = [e for e in read_flickr30k(ann_file, backend_args)
                   if e['phrases']]
        self.targets = {e['img_id']: e['phrase_boxes'] for e in entries}
        #: {image id: image file name}, to tell files apart whose ids
        #: coincide (tools/test.py checks the dataset against them)
        self.file_names = {e['img_id']: e['file_name'] for e in entries}
        # boxes kept per phrase: the largest k, or all for the upper bound
        self._keep = None if -1 in self.topk else max(self.topk)

    def merge_boxes(self, boxes):
        """The enclosing box of ``boxes`` (``[x1, y1, x2, y2]``), as a
        one-box list."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        return [[b[:, 0].min(), b[:, 1].min(), b[:, 2].max(),
                 b[:, 3].max()]]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            img_id = sample['img_id']
            if img_id not in self.targets:
                raise Flickr30kDataError(
                    f'image id {img_id} ({sample.get("img_path")}) is not an '
                    f'entry with phrases of {self.ann_file}: '
                    'test_evaluator.ann_file must be the dataset\'s file.')
            pred = sample['pred_instances']
            boxes = pred['bboxes'].cpu().numpy()
            scores = pred['scores'].cpu().numpy()
            labels = pred['labels'].cpu().numpy()
            ranked = []
            for phrase in range(len(self.targets[img_id])):
                mine = np.flatnonzero(labels == phrase)
                order = mine[np.argsort(-scores[mine], kind='stable')]
                ranked.append(boxes[order[:self._keep]])
            self.results.append((img_id, ranked))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        tracker = RecallTracker(self.topk)
        seen = set()
        for img_id, ranked in results:
            if img_id in seen:  # a sample evaluated twice (padded sampler)
                continue
            seen.add(img_id)
            for pred_boxes, targets in zip(ranked, self.targets[img_id]):
                if self.merge:
                    targets = self.merge_boxes(targets)
                if len(pred_boxes) == 0:
                    pred_boxes = np.zeros((1, 4))
                ious = bbox_overlaps(
                    np.asarray(pred_boxes, dtype=np.float64),
                    np.asarray(targets, dtype=np.float64))
                for k in self.topk:
                    best = ious.max() if k == -1 else ious[:k].max()
                    if best >= self.iou_thrs:
                        tracker.add_positive(k, 'all')
                    else:
                        tracker.add_negative(k, 'all')
        unseen = len(self.targets) - len(seen)
        if unseen:
            print_log(
                f'Flickr30kMetric: {unseen} of the {len(self.targets)} '
                f'sentences of {self.ann_file} were not evaluated; the recall '
                'is over the evaluated ones only.', logger='current',
                level=logging.WARNING)
        report = tracker.report()
        metrics = {}
        for k in self.topk:
            name = 'Upper_bound' if k == -1 else f'Recall@{k}'
            metrics[name] = float(report[str(k)].get('all', 0.0))
        print_log(f'Flickr30k phrase grounding: {metrics}', logger='current')
        return metrics


__all__ = ['Flickr30kMetric']
