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

    from mmglip.benchmark.speed import model_of_spec
    model = model_of_spec(spec, training)
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
