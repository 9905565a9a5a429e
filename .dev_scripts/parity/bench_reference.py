#!/usr/bin/env python
"""One timing measurement of MMDetection 3.3's GLIP (the reference), for
``tools/analysis/benchmark.py``; runs in the reference venv, one
measurement per process (clean memory and threads):

    .venv-ref/bin/python .dev_scripts/parity/bench_reference.py \\
        --spec '{"task": "infer", "variant": "glip-t_c", ...}' \\
        --result OUT.json

Spec keys (the benchmark writes them; mmglip's worker reads the same):
``task`` (``infer`` or ``train``), ``variant``, ``checkpoint`` (official
layout), ``bert_dir``, ``images``, ``names`` (class names), ``chunk_size``
(0: one prompt), ``size`` [short, long] (the test pipeline's
FixScaleResize), ``warmup``, ``reps``, ``threads`` (0: torch's default),
``device``, ``dtype`` (``fp32`` / ``fp16`` / ``bf16``: autocast),
``batch``, ``with_cp`` (Swin ``with_cp`` and the fusion tower's
``use_checkpoint``, training only).

Inference at batch 1 is mmdet's ``inference_detector`` (pipeline + model),
at larger batches the same pipeline collated into one ``test_step``; a
training step is ``loss`` + backward + an SGD step on a batch of the images
resized to ``size`` with two fixed boxes each. The result JSON has
``times`` (seconds per call), ``max_rss_mb`` (the process's peak resident
memory) and ``cuda_peak_mb`` (on a GPU).
"""
import argparse
import json
import os.path as osp
import sys
import warnings

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
# the timing protocol, shared with mmglip's worker (mmglip/utils/timing.py
# imports nothing of mmglip's heavy parts: it loads here without mmglip's
# dependencies installed)
REPO = osp.dirname(osp.dirname(HERE))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
from mmglip.utils.timing import (autocast, measure,  # noqa: E402
                                 train_call)


def build(spec, training=False):
    import torch
    from mmdet_reference import build_reference_model
    model, cfg, _ = build_reference_model(
        spec['variant'], spec['checkpoint'], spec['bert_dir'], 'cpu')
    if training:
        # the pretraining configs keep ATSS's SmoothL1 box loss, which
        # mmdet's GLIP head cannot train with; its fine-tuning configs (and
        # the official model, and mmglip) use GIoU with weight 2
        from mmdet.registry import MODELS
        model.bbox_head.loss_bbox = MODELS.build(
            dict(type='GIoULoss', loss_weight=2.0))
    if training and spec.get('with_cp'):
        # checkpointing switches of mmdet's port, set after building
        model.backbone.with_cp = True
        for stage in model.backbone.stages:
            for block in stage.blocks:
                block.with_cp = True
        for module in model.bbox_head.modules():
            if hasattr(module, 'use_checkpoint'):
                module.use_checkpoint = True
    if spec.get('chunk_size'):
        model.test_cfg['chunked_size'] = spec['chunk_size']
    short, long = spec['size']
    for step in cfg.test_pipeline:
        if step['type'] == 'FixScaleResize':
            step['scale'] = (long, short)
    model.cfg = cfg
    model = model.to(spec['device'])
    torch.set_grad_enabled(training)
    return model.train(training)


def infer_call(spec, model):
    import torch
    from mmcv.transforms import Compose
    from mmdet.apis import inference_detector
    from mmengine.dataset import pseudo_collate
    text = tuple(spec['names']) if spec.get('chunk_size') else \
        '. '.join(spec['names'])
    images = spec['images']
    pipeline = Compose([
        step for step in model.cfg.test_pipeline
        if 'LoadAnnotations' not in step['type']
    ])
    state = dict(i=0)

    def call():
        batch = [images[(state['i'] + k) % len(images)]
                 for k in range(spec['batch'])]
        state['i'] += spec['batch']
        with autocast(spec), torch.no_grad():
            if spec['batch'] == 1:
                return inference_detector(model, batch[0], text_prompt=text,
                                          custom_entities=True)
            data = [pipeline(dict(img_path=p, img_id=0, text=text,
                                  custom_entities=True)) for p in batch]
            return model.test_step(pseudo_collate(data))
    return call


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--spec', required=True, help='JSON measurement spec')
    p.add_argument('--result', required=True, help='output JSON')
    args = p.parse_args(argv)
    spec = json.loads(args.spec)
    warnings.simplefilter('ignore')
    training = spec['task'] == 'train'

    def make_call():
        model = build(spec, training)
        return (train_call if training else infer_call)(spec, model)

    result = measure(spec, make_call)
    with open(args.result, 'w') as f:
        json.dump(result, f)
    return 0


if __name__ == '__main__':
    sys.exit(main())
