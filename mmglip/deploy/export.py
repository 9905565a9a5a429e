"""Export a GLIP model to ONNX: a text-encoder graph and a detector graph
(or one detector graph with a fixed prompt baked in), with the model's
identity in their metadata and a self-check before anything is placed.

Exporter: ``torch.onnx.export`` with the TorchScript tracer
(``dynamo=False``), opset 19. Why not ``dynamo=True`` (torch.export):
it needs ``onnxscript`` as one more dependency, and on the 16-channel
test GLIP-T (C) it spent about 7 minutes (2 busy cores) before its
conversion step, against under a minute for the tracer. The tracer
records the shape arithmetic of Swin's window padding and DyHead's level
sizes as graph ops, so one export serves any batch size, image size and
token length (checked by the tests at sizes and batch sizes other than
the traced ones); the two places where mmdet's Swin turns a shape into a
Python value are handled in :mod:`mmglip.deploy.graphs` and
:func:`trace_size`. DyHead's modulated deformable convolution is ONNX's
``DeformConv`` through a registered symbolic (:mod:`mmglip.deploy.ops`
says why that op); the exporter's call and its errors (the module and op
it cannot write) are :mod:`mmglip.deploy.trace`.
"""
import json
import os
import os.path as osp
import shutil
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import torch

from mmglip.version import __version__
from .agreement import Agreement, compare, top_k_kept
from .errors import DeployError, require
from .graphs import (DetectorGraph, FixedPromptGraph, TextEncoderGraph,
                     exportable, head_output_names, language_tokens,
                     window_sizes)
from .metadata import (DETECTOR, TEXT_ENCODER, TOKENIZER, model_fingerprint)
from .ops import OPSET, register_symbolic
from .trace import export_graph

#: the prompt of the self-check when no --texts are given
CHECK_TEXTS = ('raccoon', 'person', 'dog', 'trash can', 'car')


def default_check_image() -> str:
    from mmglip.utils.io import package_data_path
    return os.fspath(package_data_path(
        'demo', 'data', 'raccoon_mini', 'valid', 'raccoon-106.jpg'))


def _sample_batch(model, image: str, names: Sequence[str]):
    """The preprocessed batch of one image file, as inference makes it."""
    from mmengine.dataset import pseudo_collate

    from mmglip.datasets.transforms import test_pipeline
    data = test_pipeline(model.cfg)(dict(
        img_path=image, img_id=0, text=tuple(names), custom_entities=True))
    return model.data_preprocessor(pseudo_collate([data]), False)


def trace_size(size: int, windows: Sequence[int], divisor: int) -> int:
    """The traced image side: the smallest multiple of ``divisor`` from
    ``size`` on at which every Swin stage (strides 4 .. 32) pads its
    feature map to the window size. mmdet's window attention crops its
    padding under a Python ``if``, which the trace records as taken or not;
    taken, the crop is a no-op where nothing was padded, so the graph
    serves every size."""
    divisor = max(int(divisor), 32)
    size = -(-size // divisor) * divisor
    for _ in range(64):
        if all((size // s) % w for s in (4, 8, 16, 32) for w in windows):
            return size
        size += divisor
    return size


def _metadata(model, variant: str, weights: Dict[str, str], graph: str,
              fixed: Optional[dict]) -> Dict[str, str]:
    cfg = model.cfg
    pre = cfg.model.data_preprocessor
    meta = {
        'mmglip.variant': variant,
        'mmglip.model_sha256': model_fingerprint(cfg),
        'mmglip.weights': weights['weights'],
        'mmglip.weights_sha256': weights['weights_sha256'],
        'mmglip.version': __version__,
        'mmglip.opset': str(OPSET),
        'mmglip.graph': graph,
        'mmglip.mean': json.dumps(list(pre.get('mean', [0, 0, 0]))),
        'mmglip.std': json.dumps(list(pre.get('std', [1, 1, 1]))),
        'mmglip.bgr_to_rgb': json.dumps(bool(pre.get('bgr_to_rgb', False))),
        'mmglip.pad_size_divisor': str(pre.get('pad_size_divisor', 1)),
        'mmglip.input_scale': ('image: float32 [B, 3, H, W] = (pixel - '
                               'mean) / std, pixels 0-255 in the channel '
                               'order bgr_to_rgb gives, padded to '
                               'pad_size_divisor'),
        'mmglip.max_tokens': str(model.max_tokens),
        'mmglip.lang_dim': str(model.language_model.language_dim),
        'mmglip.early_fuse': json.dumps(bool(model.fusion_neck.early_fuse)),
        'mmglip.num_levels': str(model.bbox_head.num_levels),
        'mmglip.fixed_prompt': json.dumps(fixed) if fixed else '',
        'mmglip.precision': 'fp32',
    }
    if graph == 'detector':
        meta['mmglip.config'] = cfg.pretty_text
    return meta


def _write_metadata(path: str, meta: Dict[str, str]) -> None:
    onnx = require('onnx')
    proto = onnx.load(path)
    onnx.helper.set_model_props(proto, meta)
    proto.producer_name = 'mmglip'
    proto.producer_version = __version__
    onnx.save(proto, path)
    onnx.checker.check_model(path, full_check=True)


def _prompt_tokens(model, prompts) -> Dict[str, torch.Tensor]:
    lm = model.language_model
    enc = lm.tokenize([p.caption for p in prompts])
    return dict(enc, tokens=language_tokens(model, enc['input_ids'],
                                            enc['attention_mask']))


def check_out_dir(out_dir: str, overwrite: bool) -> None:
    """A :class:`DeployError` when ``out_dir`` cannot take an export: a
    file, or a non-empty folder (with ``overwrite``: one that is not an
    earlier export)."""
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise DeployError(f'--out {out_dir}: a file, not a folder; choose '
                          'a folder for the ONNX files.')
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite:
            raise DeployError(
                f'--out {out_dir} exists and is not empty; choose a new '
                'folder, or --overwrite to replace an earlier export there.')
        if not osp.isfile(osp.join(out_dir, DETECTOR)):
            raise DeployError(
                f'--out {out_dir} holds files that are not an mmglip '
                f'export (no {DETECTOR}); --overwrite replaces only an '
                'earlier export: choose another folder.')


def export_onnx(model, out_dir: str, *, variant: str,
                weights: Optional[Dict[str, str]] = None,
                texts: Optional[Sequence[str]] = None,
                check_image: Optional[str] = None, overwrite: bool = False,
                precision: str = 'fp32',
                log: Callable[[str], None] = print) -> Agreement:
    """Export ``model`` (a GLIP with ``model.cfg``, in eval mode) into
    ``out_dir`` and check it.

    Writes ``text_encoder.onnx`` and ``detector.onnx`` (or, with
    ``texts``, one ``detector.onnx`` with those names' token features
    baked in), ``tokenizer/`` (the language model's tokenizer files, for
    prompt building), each graph with dynamic batch, image height / width
    and token length and the ``mmglip.*`` metadata
    (:mod:`mmglip.deploy.metadata`). Before ``out_dir`` is placed: the
    onnx checker on each file, and one ONNX Runtime run on
    ``check_image`` (default a shipped Raccoon image) against ``model``'s
    PyTorch detections; a disagreement beyond the tolerances of
    :mod:`mmglip.deploy.agreement` is a :class:`DeployError` and nothing
    is placed. Files are written to a hidden folder beside ``out_dir``
    and moved there at the end.

    Args:
        variant: how the model is named (zoo name or config name).
        weights: ``weights`` label and ``weights_sha256``
            (:func:`~mmglip.deploy.metadata.weights_identity`).
        texts: class names of a fixed prompt to bake in.
        precision: ``fp32`` (the exact default), or ``int8``: after the
            fp32 self-check, the detector's matrix products (MatMul /
            Gemm: Swin, the fusion tower, the head's alignment) are
            quantized by ONNX Runtime's dynamic quantizer (int8 weights,
            activations quantized per call; convolutions stay fp32); the
            drift from PyTorch's fp32 detections (top-10 kept, score
            drift) is logged, not enforced.

    Returns:
        The self-check's :class:`Agreement`.
    """
    require('onnx')
    require('onnxruntime')
    from mmglip.text import prompt_names
    if precision not in ('fp32', 'int8'):
        raise DeployError(f'precision={precision!r}: use fp32 or int8.')
    out_dir = os.fspath(out_dir)
    check_out_dir(out_dir, overwrite)
    weights = weights or dict(weights='none (initialisation)',
                              weights_sha256='none')
    check_image = check_image or default_check_image()
    names = list(texts) if texts else list(CHECK_TEXTS)
    names = prompt_names(names)
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = Path(parent) / f'.{osp.basename(osp.abspath(out_dir))}' \
        f'.partial-{os.getpid()}'
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        agreement = _export_into(model, tmp, variant, weights, texts, names,
                                 check_image, log, precision)
        if osp.isdir(out_dir):
            old = Path(parent) / f'.{osp.basename(out_dir)}.old-' \
                f'{os.getpid()}'
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return agreement


def _export_into(model, tmp: Path, variant, weights, texts, names,
                 check_image, log, precision='fp32') -> Agreement:
    register_symbolic()
    batch = _sample_batch(model, check_image, names)
    image = batch['inputs'].float()
    windows = window_sizes(model)
    if windows:
        divisor = model.cfg.model.data_preprocessor.get('pad_size_divisor',
                                                        32)
        height, width = image.shape[-2:]
        image = torch.nn.functional.pad(image, (
            0, trace_size(width, windows, divisor) - width, 0,
            trace_size(height, windows, divisor) - height))
    num_levels = model.bbox_head.num_levels
    outputs = head_output_names(num_levels)
    rows = {n: {0: 'rows'} for n in outputs}
    total = (2 if texts else 3) + (precision == 'int8')
    step = 0

    def done(what, t0):
        nonlocal step
        step += 1
        log(f'[{step}/{total}] {what} ({time.time() - t0:.1f} s)')

    model.language_model.tokenizer.save_pretrained(str(tmp / TOKENIZER))
    fixed = None
    with exportable(model):
        prompts = model.build_prompts(batch['data_samples'][0])
        enc = _prompt_tokens(model, prompts)
        if texts:
            fixed = dict(names=list(names),
                         captions=[p.caption for p in prompts])
        else:
            t0 = time.time()
            path = str(tmp / TEXT_ENCODER)
            export_graph(
                TextEncoderGraph(model),
                (enc['input_ids'], enc['attention_mask']), path,
                ['input_ids', 'attention_mask'], ['tokens'],
                {'input_ids': {0: 'batch', 1: 'tokens'},
                 'attention_mask': {0: 'batch', 1: 'tokens'},
                 'tokens': {0: 'batch', 1: 'tokens'}},
                'text encoder (language model)')
            _write_metadata(path, _metadata(model, variant, weights,
                                            'text_encoder', None))
            done(f'text encoder -> {TEXT_ENCODER}', t0)
        t0 = time.time()
        path = str(tmp / DETECTOR)
        image_axes = {0: 'batch', 2: 'height', 3: 'width'}
        if texts:
            export_graph(
                FixedPromptGraph(model, enc['tokens'],
                                 enc['attention_mask']),
                (image,), path, ['image'], outputs,
                dict(image=image_axes, **rows), 'detector (fixed prompt)')
        else:
            export_graph(
                DetectorGraph(model),
                (image, enc['tokens'], enc['attention_mask']), path,
                ['image', 'tokens', 'mask'], outputs,
                dict(image=image_axes, tokens={0: 'rows', 1: 'tokens'},
                     mask={0: 'rows', 1: 'tokens'}, **rows),
                'detector (backbone, fusion tower, head)')
        _write_metadata(path, _metadata(model, variant, weights, 'detector',
                                        fixed))
        done(f'detector -> {DETECTOR}', t0)
    t0 = time.time()
    agreement = self_check(model, str(tmp), check_image, names)
    done(f'self-check on {check_image}: {agreement}', t0)
    if not agreement.ok():
        raise DeployError(
            f'The exported model does not give the PyTorch detections on '
            f'{check_image} ({agreement}; allowed: labels the same, scores '
            f'within 1e-4, boxes within 0.01 px); nothing was written.')
    if precision == 'int8':
        t0 = time.time()
        path = str(tmp / DETECTOR)
        quantize_int8(path)
        drift = self_check(model, str(tmp), check_image, names, drift=True)
        done(f'int8 detector (dynamic quantization of MatMul / Gemm); '
             f'against PyTorch fp32 on {check_image}: {drift}', t0)
    return agreement


def quantize_int8(path: str) -> None:
    """ONNX Runtime's dynamic int8 quantization of the graph's MatMul /
    Gemm nodes with constant weights, in place; ``mmglip.precision`` set
    to ``int8``."""
    import logging
    ort = require('onnxruntime')  # noqa: F841 - the quantizer needs it
    from onnxruntime.quantization import QuantType, quantize_dynamic
    out = path + '.int8'
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process the graph
    try:
        quantize_dynamic(path, out, weight_type=QuantType.QInt8,
                         op_types_to_quantize=['MatMul', 'Gemm'],
                         extra_options=dict(MatMulConstBOnly=True))
    finally:
        root.setLevel(level)
    onnx = require('onnx')
    proto = onnx.load(out)
    meta = {p.key: p.value for p in proto.metadata_props}
    meta['mmglip.precision'] = 'int8'
    onnx.helper.set_model_props(proto, meta)
    onnx.save(proto, out)
    os.replace(out, path)


def self_check(model, onnx_dir: str, image: str, names: Sequence[str],
               drift: bool = False):
    """ONNX Runtime (the folder as :class:`OrtGLIP` loads it) against the
    PyTorch ``model`` on one image: their top-100 detections (with
    ``drift``: :func:`~mmglip.deploy.agreement.top_k_kept`). Both get the
    same sample (the config's test pipeline) through their ``test_step``,
    as :func:`mmglip.apis.inference` runs them."""
    from mmengine.dataset import pseudo_collate

    from mmglip.datasets.transforms import test_pipeline

    from .runtime import OrtGLIP
    ort_model = OrtGLIP(onnx_dir, model.cfg)
    sample = dict(img_path=image, img_id=0, text=tuple(names),
                  custom_entities=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')
        ref, got = (m.test_step(pseudo_collate(
            [test_pipeline(model.cfg)(dict(sample))]))[0].pred_instances
            for m in (model, ort_model))
    return top_k_kept(ref, got) if drift else compare(ref, got)
