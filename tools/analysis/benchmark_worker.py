#!/usr/bin/env python
"""mmglip's side of ``tools/analysis/benchmark.py``: one measurement in this
process (the reference's side is ``.dev_scripts/parity/bench_reference.py``).

    python tools/analysis/benchmark_worker.py --spec JSON --result OUT.json

SPEC (written by benchmark.py): variant, checkpoint, BERT directory,
images, test size, warm-up / repetitions, threads, device, dtype, batch,
chunk size, task (``infer`` / ``train``) and, for an exported model,
``onnx`` (its folder) and ``backend`` (``onnxruntime``, ``openvino`` or
``openvino:bf16``). OUT: the timing protocol's result
(:func:`mmglip.utils.timing.measure`).
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def _mmglip_model(spec, training):
    import torch
    from mmengine.config import Config

    from mmglip.apis import init_model
    from mmglip.apis.inference import resolve_config
    cfg = Config.fromfile(resolve_config(spec['variant']))
    short, long = spec['size']
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'].endswith('FixScaleResize'):
            step['scale'] = (long, short)
    if training and spec.get('with_cp'):
        if cfg.model.backbone.type.endswith('SwinTransformer'):
            cfg.model.backbone.with_cp = True
        cfg.model.fusion_neck.use_checkpoint = True
        attn_cfg = dict(cfg.model.fusion_neck.get('attn_cfg') or {})
        cfg.model.fusion_neck.attn_cfg = dict(attn_cfg, checkpoint_heads=True)
    if spec.get('chunk_size'):
        cfg.model.chunk_size = spec['chunk_size']
    backend, _, precision = spec.get('backend', 'onnxruntime').partition(
        ':')
    backend = dict(backend=backend, onnx=spec['onnx'],
                   precision=precision or 'fp32') if spec.get('onnx') else {}
    model = init_model(cfg, spec.get('checkpoint'), device=spec['device'],
                       language_model=spec.get('bert_dir'), **backend)
    torch.set_grad_enabled(training)
    return model.train(training)


def _mmglip_worker(spec_json: str, result: str) -> int:
    from mmglip.utils import timing
    spec = json.loads(spec_json)
    training = spec['task'] == 'train'

    def make_call():
        import torch

        from mmglip.apis import inference
        model = _mmglip_model(spec, training)
        if training:
            return timing.train_call(spec, model)
        state = dict(i=0)

        def call():
            batch = [spec['images'][(state['i'] + k) % len(spec['images'])]
                     for k in range(spec['batch'])]
            state['i'] += spec['batch']
            with timing.autocast(spec), torch.no_grad():
                return inference(model, batch, list(spec['names']),
                                 batch_size=spec['batch'])
        return call

    import warnings
    warnings.simplefilter('ignore')
    out = timing.measure(spec, make_call)
    with open(result, 'w') as f:
        json.dump(out, f)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--spec', required=True, help='the measurement (JSON)')
    p.add_argument('--result', required=True, help='where its result goes')
    args = p.parse_args(argv)
    return _mmglip_worker(args.spec, args.result)


if __name__ == '__main__':
    sys.exit(main())
