"""mmdet's ``CocoMetric`` that takes its ground truth from the dataset it
evaluates, so that a dataset config names each annotation file once."""
from typing import Optional

from mmdet.datasets.api_wrappers import COCO
from mmdet.evaluation import CocoMetric
from mmengine.fileio import get_local_path

from mmglip.registry import METRICS


@METRICS.register_module()
class DatasetCocoMetric(CocoMetric):
    """``mmdet.CocoMetric`` whose ground-truth file, when ``ann_file`` is
    not given, is the evaluated dataset's annotation file: the
    ``ann_file`` of its ``metainfo`` (mmengine's loops set
    ``metric.dataset_meta = dataset.metainfo``; ``mmglip.ODinWDataset``
    puts the file it read there, the k-shot file included). The file is
    loaded with pycocotools as ``CocoMetric(ann_file=...)`` loads it, so the
    scores are the same. With ``ann_file`` given, or a dataset whose
    metainfo has none, it is mmdet's ``CocoMetric`` unchanged (without
    either it builds the ground truth from the samples, as mmdet does).
    """

    def __init__(self, ann_file: Optional[str] = None, **kwargs) -> None:
        super().__init__(ann_file=ann_file, **kwargs)
        self._fixed_ann_file = ann_file is not None
        self._sort_categories = kwargs.get('sort_categories', False)
        self.gt_file = ann_file  # the file the ground truth comes from

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        ann_file = (dataset_meta or {}).get('ann_file')
        if self._fixed_ann_file or not ann_file or ann_file == self.gt_file:
            return
        with get_local_path(ann_file,
                            backend_args=self.backend_args) as local_path:
            self._coco_api = COCO(local_path)
        if self._sort_categories:
            api = self._coco_api
            api.cats = dict(sorted(api.cats.items()))
            api.dataset['categories'] = sorted(
                api.dataset['categories'], key=lambda c: c['id'])
        self.gt_file = ann_file
        self.cat_ids = self.img_ids = None  # taken from the new file
