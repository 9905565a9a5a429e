"""Backends timed side by side on a shared machine (``tools/deploy/
speed_table.py``): one process per column, each holding its model, run in
turn one image at a time, so that every column of a round sees the same
load from other jobs and a ratio is taken within a round.

A column is a spec: ``variant``, ``checkpoint``, ``bert_dir``, ``image``,
``size`` (short, long side of the test resize) and, for an exported
model, ``onnx`` (its folder) and ``backend`` (``onnxruntime``,
``openvino`` or ``openvino:bf16``).
"""
import multiprocessing as mp
import os
import time
from typing import Callable, Dict, List, Tuple

from mmglip.deploy.errors import DeployError


def model_of_spec(spec: dict, training: bool = False):
    """The model a timing spec names (here and ``tools/analysis/
    benchmark_worker.py``): ``variant``'s config with the test resize at
    ``size`` (short, long), ``chunk_size`` if given, with ``training`` and
    ``with_cp`` the memory-saving checkpointing on, ``checkpoint`` and
    ``bert_dir`` loaded on ``device`` (default cpu); with ``onnx`` the
    exported folder in ``backend`` (``onnxruntime``, ``openvino`` or
    ``openvino:bf16``)."""
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
    extra = {}
    if spec.get('onnx'):
        backend, _, precision = spec.get('backend', 'onnxruntime'
                                         ).partition(':')
        extra = dict(backend=backend, onnx=spec['onnx'],
                     precision=precision or 'fp32')
    return init_model(cfg, spec.get('checkpoint'),
                      device=spec.get('device', 'cpu'),
                      language_model=spec.get('bert_dir'), **extra)


def _worker(spec: dict, conn) -> None:
    """One column: build its model, then time one image per ``run``."""
    import warnings
    warnings.simplefilter('ignore')
    import torch
    from mmdet.datasets import CocoDataset

    from mmglip.apis import inference
    model = model_of_spec(spec)
    names = list(CocoDataset.METAINFO['classes'])
    conn.send('ready')
    while conn.recv() == 'run':
        start = time.perf_counter()
        with torch.no_grad():
            out = inference(model, spec['image'], names).pred_instances
        conn.send((time.perf_counter() - start,
                   {k: out.get(k).clone() for k in
                    ('scores', 'labels', 'bboxes')}))


def _receive(conn):
    """The worker's answer, or None when it died."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def measure_interleaved(
        specs: Dict[str, dict], warmup: int, reps: int, pause: float = 1.0,
        log: Callable[[str], None] = print
) -> Tuple[Dict[str, Tuple[List[float], dict]], List[float]]:
    """Per column its seconds per round and its last detections (scores,
    labels, bboxes), and each round's load average. The columns load one
    after another; after ``warmup`` untimed rounds come ``reps`` timed
    ones, ``pause`` seconds between two runs (a runtime's threads may
    spin a moment after a run)."""
    ctx = mp.get_context('spawn')
    workers = {}
    try:
        for name, spec in specs.items():
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(spec, there),
                               daemon=True)
            proc.start()
            workers[name] = (proc, here)
            if not here.poll(1800) or _receive(here) != 'ready':
                raise DeployError(f'{name}: the worker did not start (its '
                                  'error is above).')
            log(f'{name} loaded')
        results = {name: ([], None) for name in specs}
        loads = []
        for rnd in range(warmup + reps):
            for name, (_, conn) in workers.items():
                time.sleep(pause)
                conn.send('run')
                seconds, found = _receive(conn) or (None, None)
                if seconds is None:
                    raise DeployError(f'{name}: the worker failed (its '
                                      'error is above).')
                if rnd >= warmup:
                    results[name] = (results[name][0] + [seconds], found)
            if rnd >= warmup:
                loads.append(os.getloadavg()[0])
                log(f'round {rnd - warmup + 1}: ' + ', '.join(
                    f'{n} {t[-1]:.2f} s' for n, (t, _) in results.items()))
    finally:
        for proc, conn in workers.values():
            try:
                conn.send('stop')
            except OSError:
                pass
            proc.join(30)
            if proc.is_alive():
                proc.terminate()
    return results, loads
