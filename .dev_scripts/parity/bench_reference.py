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
import resource
import sys
import time
import warnings

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def _sync(device):
    import torch
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def _autocast(spec):
    import torch
    dtype = {'fp16': torch.float16, 'bf16': torch.bfloat16}.get(
        spec['dtype'])
    return torch.autocast(spec['device'].split(':')[0], dtype=dtype,
                          enabled=dtype is not None)


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
        with _autocast(spec), torch.no_grad():
            if spec['batch'] == 1:
                return inference_detector(model, batch[0], text_prompt=text,
                                          custom_entities=True)
            data = [pipeline(dict(img_path=p, img_id=0, text=text,
                                  custom_entities=True)) for p in batch]
            return model.test_step(pseudo_collate(data))
    return call


def train_batch(spec, names):
    """Images resized to ``size`` (aspect kept, mmcv) and two boxes each;
    mmglip's worker builds the same batch."""
    import mmcv
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    inputs, samples = [], []
    for k in range(spec['batch']):
        img = mmcv.imrescale(mmcv.imread(spec['images'][k % len(
            spec['images'])]), tuple(reversed(spec['size'])))
        h, w = img.shape[:2]
        sample = DetDataSample(metainfo=dict(
            text=tuple(names), custom_entities=True, img_shape=(h, w),
            ori_shape=(h, w), scale_factor=(1.0, 1.0), pad_shape=(h, w),
            batch_input_shape=(h, w)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[0.1 * w, 0.1 * h, 0.6 * w, 0.7 * h],
                                 [0.4 * w, 0.3 * h, 0.9 * w, 0.95 * h]]),
            labels=torch.tensor([0, 1]))
        inputs.append(torch.from_numpy(img).permute(2, 0, 1).contiguous())
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_call(spec, model):
    import torch
    data = model.data_preprocessor(train_batch(spec, spec['names']), True)
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=1e-6,
        momentum=0.9)

    def call():
        optim.zero_grad()
        with _autocast(spec):
            losses = model.loss(data['inputs'], data['data_samples'])
        total = sum(v if not isinstance(v, list) else sum(v)
                    for k, v in losses.items() if 'loss' in k)
        total.backward()
        optim.step()
    return call


def measure(spec, make_call) -> dict:
    """``warmup`` untimed calls, then ``reps`` timed ones."""
    import torch
    if spec.get('threads'):
        torch.set_num_threads(spec['threads'])
    call = make_call()
    device = spec['device']
    for _ in range(spec['warmup']):
        call()
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(spec['reps']):
        _sync(device)
        start = time.perf_counter()
        call()
        _sync(device)
        times.append(time.perf_counter() - start)
    out = dict(times=times, max_rss_mb=resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        threads=torch.get_num_threads())
    if device.startswith('cuda'):
        out['cuda_peak_mb'] = torch.cuda.max_memory_allocated() / 2**20
    return out


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
