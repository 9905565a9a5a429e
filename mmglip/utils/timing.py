"""The timing protocol of ``tools/analysis/benchmark.py``, shared by its
mmglip worker and the reference's (``.dev_scripts/parity/bench_reference.py``,
which runs in MMDetection's environment and imports this module from the
checkout): the same warm-up, repetitions, synchronisation, autocast and
training batch on both sides, so that the two columns measure the same
thing.

A measurement ``spec`` is a dict (the benchmark writes it as JSON): ``task``
(``infer`` / ``train``), ``images``, ``names``, ``size`` [short, long],
``warmup``, ``reps``, ``threads`` (0: torch's default), ``device``,
``dtype`` (``fp32`` / ``fp16`` / ``bf16``) and ``batch``. Imports torch,
mmcv and mmdet only inside the functions.
"""
import resource
import time


def sync(device) -> None:
    """Wait for the GPU's queued work (nothing on the CPU)."""
    import torch
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def autocast(spec):
    """``torch.autocast`` for the spec's ``dtype`` (``fp16`` / ``bf16``;
    ``fp32``: disabled) on its device."""
    import torch
    dtype = {'fp16': torch.float16, 'bf16': torch.bfloat16}.get(
        spec['dtype'])
    return torch.autocast(spec['device'].split(':')[0], dtype=dtype,
                          enabled=dtype is not None)


def train_batch(spec, names):
    """Images resized to ``size`` (aspect kept, mmcv) and two boxes each;
    both systems' workers train on the same batch."""
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
    """One training step per call: ``loss`` + backward + an SGD step on
    :func:`train_batch` (the model's own data preprocessor first)."""
    import torch
    data = model.data_preprocessor(train_batch(spec, spec['names']), True)
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=1e-6,
        momentum=0.9)

    def call():
        optim.zero_grad()
        with autocast(spec):
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
        sync(device)
        start = time.perf_counter()
        call()
        sync(device)
        times.append(time.perf_counter() - start)
    out = dict(times=times, max_rss_mb=resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        threads=torch.get_num_threads())
    if device.startswith('cuda'):
        out['cuda_peak_mb'] = torch.cuda.max_memory_allocated() / 2**20
    return out


__all__ = ['sync', 'autocast', 'train_batch', 'train_call', 'measure']
