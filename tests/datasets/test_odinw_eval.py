"""ODinWDataset labels and the config's CocoMetric agree: ground truth fed
back as predictions scores AP 1.0 on the real Aquarium val split."""
import torch

from mmglip.datasets import configure_odinw, odinw_config_path
from mmglip.registry import DATASETS, METRICS


def test_gt_as_predictions_gives_ap_1(aquarium_odinw):
    from mmengine.config import Config
    dst, _ = aquarium_odinw
    cfg = Config.fromfile(odinw_config_path('Aquarium'))
    cfg.odinw_task_root = ''
    configure_odinw(cfg, odinw_root=str(dst))
    ds = DATASETS.build(dict(cfg.val_dataloader.dataset, serialize_data=False))
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = ds.metainfo
    samples = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        boxes = torch.tensor([x['bbox'] for x in info['instances']],
                             dtype=torch.float32).reshape(-1, 4)
        labels = torch.tensor([x['bbox_label'] for x in info['instances']],
                              dtype=torch.long)
        samples.append(dict(
            img_id=info['img_id'], ori_shape=(info['height'], info['width']),
            pred_instances=dict(bboxes=boxes, labels=labels,
                                scores=torch.ones(len(labels)))))
    metric.process({}, samples)
    result = metric.evaluate(len(samples))
    assert abs(result['coco/bbox_mAP'] - 1.0) < 1e-6, result
    # not vacuous: labels that do not match the category ids score ~0
    for s in samples:
        s['pred_instances']['labels'] = (s['pred_instances']['labels'] +
                                         1) % 7
    metric.results.clear()
    metric.process({}, samples)
    assert metric.evaluate(len(samples))['coco/bbox_mAP'] < 0.1
