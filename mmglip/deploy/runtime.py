"""GLIP on ONNX Runtime or OpenVINO: the exported graphs inside mmglip's
own data path.

:class:`OrtGLIP` is a drop-in for a PyTorch GLIP model in
:func:`mmglip.apis.iter_inference` / :func:`~mmglip.apis.inference` (and
an mmengine test loop): the same test pipeline and data preprocessor, the
same prompt building and chunking (:meth:`GLIP.build_prompts`), the same
token ids per entity, and the head's own ``predict_by_feat`` (top-k,
decoding, NMS, rescaling) on the graphs' outputs. Only the networks run
in ONNX Runtime (or, ``backend='openvino'``, in OpenVINO from the same
files: :mod:`mmglip.deploy.openvino_backend`): ``text_encoder.onnx`` (token
ids -> token features) and ``detector.onnx`` (image batch + token features
-> the head's outputs).
"""
import json
import os
from collections import OrderedDict
import os.path as osp
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from torch import Tensor

from mmglip.text import PromptError, prompt_token_ids
from .errors import DeployError, require
from .graphs import HEAD_OUTPUTS
from .metadata import DETECTOR, TEXT_ENCODER, TOKENIZER, describe

#: the runtimes an exported folder runs in, and the precisions they take
BACKENDS = {'onnxruntime': ('fp32',), 'openvino': ('fp32', 'bf16')}


def _ort_session(path: str, providers: Optional[Sequence[str]],
                 threads: int):
    """An ONNX Runtime session of ``path`` and its metadata."""
    ort = require('onnxruntime')
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        path, options, providers=list(providers or ['CPUExecutionProvider']))
    return session, dict(session.get_modelmeta().custom_metadata_map)


def open_session(path: str, backend: str = 'onnxruntime',
                 precision: str = 'fp32',
                 providers: Optional[Sequence[str]] = None,
                 threads: int = 0):
    """A session of ``path`` in ``backend`` (ONNX Runtime's
    ``InferenceSession``, or :class:`~mmglip.deploy.openvino_backend.
    OvSession` with its interface) computing in ``precision``, and the
    file's ``mmglip.*`` metadata; a :class:`DeployError` for a backend or
    precision it does not have, or naming the file when it is missing, not
    ONNX, truncated, or not an mmglip export."""
    check_backend(backend, precision)
    if backend == 'openvino':
        from .openvino_backend import (OvSession, check_precision,
                                       require_openvino)
        require_openvino()
        check_precision(precision)  # bf16: the CPU must have it

        def make():
            session = OvSession(path, precision, threads)
            return session, session.meta
        said_line = -1  # OpenVINO says what failed last
    else:
        require('onnxruntime')

        def make():
            return _ort_session(path, providers, threads)
        said_line = 0
    if not osp.isfile(path):
        raise DeployError(f'{path}: no such file; an ONNX folder of '
                          'tools/deploy/export_onnx.py holds '
                          f'{DETECTOR} (and {TEXT_ENCODER}).')
    try:
        session, meta = make()
    except DeployError:
        raise
    except Exception as err:  # noqa: BLE001 - the runtimes' own errors
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        said = (lines[said_line] if lines else type(err).__name__)[:200]
        raise DeployError(
            f'{path}: not a readable ONNX model (truncated, or not ONNX: '
            f'{backend} said: {said}); export it again with '
            'tools/deploy/export_onnx.py.') from err
    if 'mmglip.model_sha256' not in meta:
        raise DeployError(
            f'{path}: an ONNX model without mmglip\'s metadata (not '
            'written by tools/deploy/export_onnx.py); export the model '
            'with it.')
    return session, meta


def check_backend(backend: str, precision: str = 'fp32') -> None:
    """A :class:`DeployError` unless ``backend`` is one of
    :data:`BACKENDS` and takes ``precision``."""
    if backend not in BACKENDS:
        raise DeployError(f'backend={backend!r}: an exported folder runs '
                          f'in {" or ".join(BACKENDS)}.')
    if precision not in BACKENDS[backend]:
        why = {'onnxruntime': ': its CPU provider has no bf16 kernels '
               '(MatMul, Gemm, Add, Softmax; Conv takes no bf16); run '
               'bf16 with --backend openvino, or int8 by exporting with '
               '--precision int8'}.get(backend, '')
        raise DeployError(
            f'precision {precision!r} with {backend}: it runs '
            f'{" or ".join(BACKENDS[backend])}{why}.')


def check_backend_args(args) -> None:
    """The tools' ``--backend`` / ``--onnx`` / ``--precision`` checked
    before a model is built: one :class:`DeployError` line each."""
    backend, precision = args.backend, getattr(args, 'precision', 'fp32')
    if (backend != 'pytorch') != (args.onnx is not None):
        raise DeployError(
            f'--backend {backend} and --onnx DIR go together (DIR: the '
            'folder tools/deploy/export_onnx.py wrote; --onnx with '
            'onnxruntime or openvino only).')
    if backend == 'pytorch':
        if precision != 'fp32':
            raise DeployError(
                f'--precision {precision} is for an exported model '
                '(--backend openvino --onnx DIR); PyTorch runs fp32.')
        return
    check_backend(backend, precision)


class OrtGLIP(BaseModel):
    """A GLIP model whose networks run in ONNX Runtime (or OpenVINO).

    Args:
        onnx_dir: a folder written by :func:`mmglip.deploy.export_onnx`.
        cfg: the config to run with (test pipeline, ``test_cfg``,
            ``chunk_size``); default: the one the folder was exported
            from. Its model must be the exported one
            (:func:`~mmglip.deploy.metadata.check_same_model`, done by
            :func:`load_onnx_model`).
        providers: ONNX Runtime execution providers (default CPU).
        threads: the runtime's intra-op threads (0: its default, all
            cores).
        chunks_per_run: with early fusion, at most this many prompts
            (chunks of a long class list) per image go through the
            detector graph in one run (its backbone once per run); bounds
            the memory of the fusion tower. Without early fusion every
            chunk goes in one run (the visual tower once per image).
        backend: ``onnxruntime`` (the default) or ``openvino`` (the same
            files in OpenVINO's CPU runtime).
        precision: what the detector graph computes in: ``fp32`` (the
            exact default) or, with OpenVINO, ``bf16``. The text encoder
            (run once per prompt, its features cached) stays fp32.
    """

    def __init__(self, onnx_dir: str, cfg: Optional[Config] = None,
                 providers: Optional[Sequence[str]] = None,
                 threads: int = 0, chunks_per_run: int = 8,
                 backend: str = 'onnxruntime', precision: str = 'fp32'):
        self.onnx_dir = os.fspath(onnx_dir)
        check_backend(backend, precision)
        if not osp.isdir(self.onnx_dir):
            raise DeployError(
                f'--onnx {self.onnx_dir}: no such folder; write one with '
                'tools/deploy/export_onnx.py MODEL --weights W --out DIR.')
        self.backend, self.precision = backend, precision
        det, meta = open_session(osp.join(self.onnx_dir, DETECTOR),
                                 backend, precision, providers, threads)
        self.meta = meta
        fixed = meta.get('mmglip.fixed_prompt', '')
        self.fixed_prompt = json.loads(fixed) if fixed else None
        text = None
        if self.fixed_prompt is None:
            text, text_meta = open_session(
                osp.join(self.onnx_dir, TEXT_ENCODER), backend, 'fp32',
                providers, threads)
            for key in ('mmglip.model_sha256', 'mmglip.weights_sha256'):
                if text_meta.get(key) != meta.get(key):
                    raise DeployError(
                        f'{self.onnx_dir}: {TEXT_ENCODER} holds '
                        f'{describe(text_meta)} but {DETECTOR} '
                        f'{describe(meta)}: the files come from two '
                        'exports; export the model again into an empty '
                        'folder.')
        if cfg is None:
            cfg = Config.fromstring(meta['mmglip.config'], '.py')
        self.cfg = cfg
        from mmglip.registry import MODELS
        import mmglip
        mmglip.register_all_modules()
        preprocessor = MODELS.build(cfg.model.data_preprocessor)
        super().__init__(data_preprocessor=preprocessor)
        from mmglip.models.detectors.glip import _without_retired_keys
        head_cfg = dict(_without_retired_keys(dict(cfg.model.bbox_head)),
                        lang_dim=int(meta['mmglip.lang_dim']),
                        train_cfg=None, test_cfg=cfg.model.test_cfg)
        self.bbox_head = MODELS.build(head_cfg)
        self.bbox_head.eval()
        from mmglip.models.language.bert import load_tokenizer
        tokenizer = load_tokenizer(osp.join(self.onnx_dir, TOKENIZER))
        lm_cfg = cfg.model.language_model
        self.language_model = SimpleNamespace(
            tokenizer=tokenizer, max_tokens=int(meta['mmglip.max_tokens']),
            pad_to_max=bool(lm_cfg.get('pad_to_max', False)))
        self.chunk_size = cfg.model.get('chunk_size', None)
        self.num_levels = int(meta['mmglip.num_levels'])
        self.early_fuse = json.loads(meta['mmglip.early_fuse'])
        self.chunks_per_run = max(1, int(chunks_per_run))
        self._text, self._det = text, det
        self.cache_size = int(lm_cfg.get('cache_size', 8))
        self._text_cache = OrderedDict()
        self._det_inputs = [i.name for i in det.get_inputs()]

    @property
    def max_tokens(self) -> int:
        return self.language_model.max_tokens

    def build_prompts(self, sample):
        """The prompts of a sample: :meth:`GLIP.build_prompts` itself."""
        from mmglip.models.detectors.glip import GLIP
        return GLIP.build_prompts(self, sample)

    # ------------------------------------------------------------ networks
    def encode(self, captions: Sequence[str]):
        """Token features [N, L, C] and mask [N, L] of ``captions`` from the
        text-encoder graph (tokenized as the PyTorch language model does:
        :meth:`BertLanguageBackbone.tokenize`); the last
        ``cache_size`` calls' results are kept, as the PyTorch language
        model's cache keeps a fixed prompt's features."""
        key = tuple(captions)
        if key in self._text_cache:
            self._text_cache.move_to_end(key)
            return self._text_cache[key]
        out = self._encode(captions)
        self._text_cache[key] = out
        while len(self._text_cache) > self.cache_size:
            self._text_cache.popitem(last=False)
        return out

    def _encode(self, captions: Sequence[str]):
        from mmglip.models.language.bert import BertLanguageBackbone
        tokens = BertLanguageBackbone.tokenize(self.language_model, captions)
        ids = tokens['input_ids'].numpy()
        mask = tokens['attention_mask'].numpy()
        feed = dict(input_ids=ids, attention_mask=mask)
        out = self._text.run(None, {i.name: feed[i.name]
                                    for i in self._text.get_inputs()})[0]
        return out, mask

    def run_detector(self, image: np.ndarray, tokens: Optional[np.ndarray],
                     mask: Optional[np.ndarray]) -> Dict[str, List[Tensor]]:
        """The detector graph's outputs as tensors, by kind
        (:data:`HEAD_OUTPUTS`), each a list over the levels."""
        feed = dict(image=image, tokens=tokens, mask=mask)
        outs = self._det.run(None, {n: feed[n] for n in self._det_inputs})
        n = self.num_levels
        return {kind: [torch.from_numpy(o) for o in outs[i * n:(i + 1) * n]]
                for i, kind in enumerate(HEAD_OUTPUTS)}

    # ------------------------------------------------------------ predict
    def forward(self, inputs, data_samples=None, mode: str = 'predict'):
        if mode != 'predict':
            raise DeployError(f'An ONNX model runs inference only, not '
                              f'mode={mode!r} (training needs PyTorch).')
        return self.predict(inputs, data_samples)

    def _check_fixed(self, prompts) -> None:
        fixed = self.fixed_prompt['captions']
        for sample_prompts in prompts:
            captions = [p.caption for p in sample_prompts]
            if captions != fixed:
                raise PromptError(
                    f'{self.onnx_dir} was exported for the fixed prompt '
                    f'{" | ".join(fixed)[:120]!r} (--texts) and takes no '
                    f'other; got {" | ".join(captions)[:120]!r}. Export '
                    'without --texts for prompts chosen at run time.')

    def predict(self, inputs, data_samples, rescale: bool = True):
        """Detections of a batch, as :meth:`GLIP.predict` gives them."""
        prompts = [self.build_prompts(s) for s in data_samples]
        num_chunks = {len(p) for p in prompts}
        if len(num_chunks) != 1:
            raise PromptError('All images of a batch need prompts with the '
                              'same number of chunks; use batch size 1.')
        num_chunks = num_chunks.pop()
        bsz = len(data_samples)
        token_ids = [[prompt_token_ids(self.language_model.tokenizer, p,
                                       self.max_tokens) for p in sample]
                     for sample in prompts]
        image = inputs.float().numpy() if isinstance(inputs, torch.Tensor) \
            else np.asarray(inputs, np.float32)
        metas = [s.metainfo for s in data_samples]
        if self.fixed_prompt is not None:
            self._check_fixed(prompts)
            groups = [list(range(num_chunks))]
            tokens = mask = None
        else:
            # all captions in one call, image-major (image b, chunk k)
            tokens, mask = self.encode(
                [p.caption for sample in prompts for p in sample])
            tokens = tokens.reshape(bsz, num_chunks, *tokens.shape[1:])
            mask = mask.reshape(bsz, num_chunks, -1)
            # without early fusion the visual tower runs once per call:
            # every chunk in one run
            step = self.chunks_per_run if self.early_fuse else num_chunks
            groups = [list(range(s, min(s + step, num_chunks)))
                      for s in range(0, num_chunks, step)]
        per_chunk = {}
        for group in groups:
            feed_tokens = feed_mask = None
            if tokens is not None:
                feed_tokens = np.ascontiguousarray(tokens[:, group].reshape(
                    -1, *tokens.shape[2:]))
                feed_mask = np.ascontiguousarray(mask[:, group].reshape(
                    -1, mask.shape[-1]))
            outs = self.run_detector(image, feed_tokens, feed_mask)
            rows = len(group)
            for j, chunk in enumerate(group):
                # rows of this chunk: image b at row b * rows + j
                pick = {k: [t[j::rows] for t in v] for k, v in outs.items()}
                per_chunk[chunk] = self.bbox_head.predict_by_feat(
                    pick['logits'], pick['bbox_preds'], pick['centerness'],
                    metas, rescale=rescale,
                    token_ids=[ids[chunk] for ids in token_ids])
        from mmglip.models.detectors.glip import merge_chunks
        return merge_chunks(prompts, [per_chunk[k] for k in
                                      range(num_chunks)], data_samples)


def load_onnx_model(onnx_dir: str, config=None, weights: Optional[str] = None,
                    variant: Optional[str] = None, device: str = 'cpu',
                    providers: Optional[Sequence[str]] = None,
                    threads: int = 0, backend: str = 'onnxruntime',
                    precision: str = 'fp32') -> OrtGLIP:
    """:class:`OrtGLIP` of ``onnx_dir``, checked against the model the
    user names: ``config`` (a Config; its model must be the exported one)
    and ``weights`` (their SHA-256 must be the exported ones'); a
    :class:`DeployError` naming both otherwise. ``device`` ``cuda...``
    asks for ONNX Runtime's CUDA provider (CPU where it is missing);
    OpenVINO runs on the CPU only."""
    from .metadata import check_same_model
    if str(device).startswith('cuda'):
        if backend == 'openvino':
            raise DeployError(f'--device {device} with openvino: mmglip '
                              'runs OpenVINO on the CPU only; use --device '
                              'cpu, or --backend onnxruntime for CUDA.')
        if providers is None:
            providers = ['CUDAExecutionProvider', 'CPUExecutionProvider']
    model = OrtGLIP(onnx_dir, config, providers, threads, backend=backend,
                    precision=precision)
    if config is not None:
        check_same_model(model.meta, os.fspath(onnx_dir), config,
                         variant or 'the model', weights)
    return model
