"""ODinWDataset labels and the task config's metric agree: ground truth fed
back as predictions scores AP 1.0 on the real Aquarium val split; the
metric takes its ground truth from the dataset (the same COCO file, the
same AP as mmdet's CocoMetric given that file)."""
import torch

from mmglip.datasets import odinw_config_path
from mmglip.registry import DATASETS, METRICS


def _samples(ds, shift=0):
    samples = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        boxes = torch.tensor([x['bbox'] for x in info['instances']],
                             dtype=torch.float32).reshape(-1, 4)
        labels = torch.tensor([x['bbox_label'] for x in info['instances']],
                              dtype=torch.long)
        # with shift: each box moved by shift px, plus a less sure copy
        # of another class (AP well below 1)
        boxes = torch.cat([boxes + shift, boxes])
        labels = torch.cat([labels, (labels + 1) % 7 if shift else labels])
        scores = torch.cat([torch.ones(len(info['instances'])),
                            torch.full((len(info['instances']), ), 0.5)])
        samples.append(dict(
            img_id=info['img_id'], ori_shape=(info['height'], info['width']),
            pred_instances=dict(bboxes=boxes, labels=labels, scores=scores)))
    return samples


def _evaluate(metric, ds, samples):
    metric.dataset_meta = ds.metainfo
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_gt_as_predictions_gives_ap_1(aquarium_odinw):
    from mmengine.config import Config
    dst, _ = aquarium_odinw
    cfg = Config.fromfile(odinw_config_path('Aquarium'))
    # the converted copy is the task folder itself
    ds = DATASETS.build(dict(cfg.val_dataloader.dataset,
                             data_root=str(dst), task=dict(cfg.task, root=''),
                             serialize_data=False))
    assert ds.ann_file == str(dst / 'valid' /
                              'annotations_without_background.json')
    metric = METRICS.build(cfg.val_evaluator)
    samples = _samples(ds)
    result = _evaluate(metric, ds, samples)
    assert metric.gt_file == ds.ann_file
    assert abs(result['coco/bbox_mAP'] - 1.0) < 1e-6, result
    # not vacuous: labels that do not match the category ids score ~0
    for s in samples:
        s['pred_instances']['labels'] = (s['pred_instances']['labels'] +
                                         1) % 7
    metric.results.clear()
    metric.process({}, samples)
    assert metric.evaluate(len(samples))['coco/bbox_mAP'] < 0.1


def test_same_ap_as_mmdet_coco_metric_with_the_file(aquarium_odinw):
    """Every AP number equals mmdet's CocoMetric(ann_file=<the file>) on
    imperfect predictions; an explicit ann_file is kept as mmdet keeps
    it."""
    from mmengine.config import Config
    dst, _ = aquarium_odinw
    cfg = Config.fromfile(odinw_config_path('Aquarium'))
    ds = DATASETS.build(dict(cfg.test_dataloader.dataset,
                             data_root=str(dst), task=dict(cfg.task, root=''),
                             serialize_data=False))
    samples = _samples(ds, shift=7)
    ours = _evaluate(METRICS.build(cfg.test_evaluator), ds, samples)
    theirs = _evaluate(
        METRICS.build(dict(type='mmdet.CocoMetric', metric='bbox',
                           ann_file=ds.ann_file)), ds, samples)
    assert 0.05 < ours['coco/bbox_mAP'] < 0.9, ours
    assert ours == theirs
    # given ann_file wins over the dataset's (mmdet's behaviour)
    fixed = METRICS.build(dict(cfg.test_evaluator, ann_file=ds.ann_file))
    other = DATASETS.build(dict(cfg.val_dataloader.dataset,
                                data_root=str(dst),
                                task=dict(cfg.task, root=''),
                                serialize_data=False))
    fixed.dataset_meta = other.metainfo
    assert fixed.gt_file == ds.ann_file != other.ann_file
