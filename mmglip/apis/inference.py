"""Build a GLIP model from a config or zoo name, load weights, run it.

Images may be given as a path (``str`` or ``pathlib.Path``: an image file or
a folder of images), a numpy array (``H x W x 3``, BGR as mmcv reads
images), a PIL image, or a list of any of these::

    from mmglip.apis import inference, init_model
    model = init_model('glip-lite')
    result = inference(model, 'demo/data/raccoon_mini/test/raccoon-134.jpg',
                       'raccoon. trash can')
    print(result.pred_instances.label_names[:3],
          result.pred_instances.scores[:3])

:func:`inference` raises :class:`~mmglip.utils.images.ImageError` naming the
first image it cannot read; :func:`iter_inference` goes on past such images
and yields each image's result or error as soon as it is known.
"""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import (Any, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

# the one function from the user's texts to names (re-exported)
from mmglip.text import name_warnings, prompt_names  # noqa: F401
from mmglip.utils.checkpoints import read_checkpoint  # noqa: F401 (API)
from mmglip.datasets.transforms import test_pipeline  # noqa: F401 (API)
from mmglip.errors import did_you_mean
from mmglip.utils.images import (IMAGE_SUFFIXES, ImageError,  # noqa: F401
                                 decode_failure, list_images)
from mmglip.utils.io import package_data_path
from mmglip.zoo.index import load_index, model_names
# the one weights path, re-exported as mmglip.apis.load_weights
from mmglip.weights.load import LoadReport, load_weights  # noqa: F401


class _ModelNames:
    """Zoo names -> config files under configs/, read from model-index.yml
    when first used (not at import)."""

    def _names(self):
        return model_names()

    def __iter__(self):
        return iter(self._names())

    def __contains__(self, name):
        return name in self._names()

    def __len__(self):
        return len(self._names())

    def __getitem__(self, name):
        return self._names()[name]

    def keys(self):
        return self._names().keys()

    def __repr__(self):
        return repr(self._names())


#: zoo names -> config files under configs/, read from model-index.yml
MODEL_NAMES = _ModelNames()
#: models without released weights, by name -> config under configs/
LOCAL_MODELS = {'glip-lite': 'glip_lite/glip-lite_raccoon-mini.py'}


def config_root() -> Path:
    """The ``configs/`` folder: in the source tree, or packaged in .mim."""
    root = package_data_path('configs')
    if not root.is_dir():
        raise FileNotFoundError(f'No configs/ folder: {root} is missing.')
    return root


def resolve_config(model: str) -> str:
    """A config path, or a zoo name of model-index.yml (:data:`MODEL_NAMES`).
    """
    index = load_index()
    if model in index:
        return os.fspath(index.config_path(model))
    if model in LOCAL_MODELS:
        return os.fspath(config_root() / LOCAL_MODELS[model])
    if os.path.isfile(model):
        return model
    raise FileNotFoundError(
        f'MODEL {model!r} is neither a config file nor a model name; names: '
        f'{", ".join(list(MODEL_NAMES) + list(LOCAL_MODELS))}'
        f'{did_you_mean(model, list(MODEL_NAMES) + list(LOCAL_MODELS))}.')


def _quiet_init_weights(model) -> None:
    """``model.init_weights()`` without mmengine's per-parameter INFO log
    (over a thousand lines for glip-lite); warnings still show."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def init_model(config: Union[str, Config], weights: Optional[str] = None,
               device: str = 'cpu', weights_key: str = 'model',
               language_model: Optional[str] = None,
               cfg_options: Optional[Dict] = None,
               backend: str = 'pytorch', onnx: Optional[str] = None,
               precision: str = 'fp32'):
    """Build a GLIP detector ready for inference.

    Args:
        config: config path, zoo name or Config.
        weights: an official GLIP file, an mmglip checkpoint or a zoo name
            (``glip-t_c``, ``mmglip://glip-t_c``), loaded by
            :func:`mmglip.weights.load.load_weights`; without it the model
            keeps its initialisation (pretrained parts loaded by
            init_weights).
        weights_key: ``model`` or ``model_ema`` weights (a file without EMA
            weights is an error for ``model_ema``).
        language_model: hub id or local directory replacing the config's
            language model name.
        backend: ``pytorch``, or ``onnxruntime``: the networks run in ONNX
            Runtime from the folder ``onnx`` that
            ``tools/deploy/export_onnx.py`` wrote
            (:class:`mmglip.deploy.OrtGLIP`: the same prompts, chunking,
            post-processing and results); the folder must hold this
            model (and, when given, these ``weights``), else a
            :class:`~mmglip.deploy.DeployError` names both. ``openvino``:
            the same folder in OpenVINO's CPU runtime (faster on x86).
        precision: with ``onnxruntime`` / ``openvino``, what the detector
            graph computes in: ``fp32`` (the exact default) or, with
            ``openvino``, ``bf16`` (faster, drifts; README "Deploy").
    """
    from mmglip.registry import MODELS
    import mmglip
    mmglip.register_all_modules()
    if backend not in ('pytorch', 'onnxruntime', 'openvino'):
        raise ValueError(f'backend={backend!r}: use pytorch, onnxruntime '
                         'or openvino.')
    if (backend != 'pytorch') != (onnx is not None):
        raise ValueError(f'backend={backend!r} and onnx=DIR (the folder '
                         'tools/deploy/export_onnx.py wrote) go together: '
                         'onnx with onnxruntime or openvino only.')
    if backend == 'pytorch' and precision != 'fp32':
        raise ValueError(f'precision={precision!r} is for an exported '
                         'model (backend onnxruntime / openvino); PyTorch '
                         'runs fp32.')
    cfg = config if isinstance(config, Config) else Config.fromfile(
        resolve_config(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if language_model:
        cfg.model.language_model.name = language_model
    if backend != 'pytorch':
        from mmglip.deploy import load_onnx_model, variant_name
        return load_onnx_model(
            onnx, cfg, weights, variant_name(
                config if isinstance(config, str) else
                cfg.filename or 'the config'), device=device,
            backend=backend, precision=precision)
    if weights:
        # the checkpoint carries BERT: only its config/vocab are read
        cfg.model.language_model.pretrained = False
    model = MODELS.build(cfg.model)
    model.cfg = cfg
    if weights:
        report = load_weights(model, weights, weights_key)
        model.load_report = report
    else:
        _quiet_init_weights(model)
    return model.to(device).eval()


#: an image as the API takes it
ImageInput = Union[str, os.PathLike, np.ndarray, Any]


@dataclass
class ImageResult:
    """One image's outcome in :func:`iter_inference`.

    Attributes:
        index: position of the image in the input list.
        source: its path, or ``<array N>`` / ``<PIL image N>``.
        sample: the DetDataSample with ``pred_instances`` (None on error).
        error: why the image could not be processed (None on success).
    """
    index: int
    source: str
    sample: Any = None
    error: Optional[BaseException] = None


def _as_inputs(images) -> Tuple[List, bool]:
    """The list of images and whether a single image was given."""
    single = isinstance(images, (str, os.PathLike, np.ndarray)) or \
        _is_pil(images)
    if single:
        if isinstance(images, (str, os.PathLike)) and \
                os.path.isdir(images):
            return list_images(images), False
        return [images], True
    if not isinstance(images, (list, tuple)):
        raise TypeError(
            'images: give a path, a numpy array, a PIL image or a list of '
            f'them, not {type(images).__name__}.')
    out = []
    for item in images:
        if isinstance(item, (str, os.PathLike)) and os.path.isdir(item):
            out.extend(list_images(item))
        else:
            out.append(item)
    return out, False


def _is_pil(obj) -> bool:
    return type(obj).__module__.startswith('PIL.')


def _source(item, index: int) -> str:
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    return f'<{"PIL image" if _is_pil(item) else "array"} {index}>'


def _load_input(item, index: int, names, pipelines) -> dict:
    """Run the test pipeline on one image; ImageError names a bad one."""
    source = _source(item, index)
    meta = dict(img_id=index, text=tuple(names), custom_entities=True)
    if isinstance(item, (str, os.PathLike)):
        return pipelines['path'](dict(meta, img_path=os.fspath(item)))
    if _is_pil(item):
        from PIL import ImageOps
        item = np.ascontiguousarray(
            np.asarray(ImageOps.exif_transpose(item).convert('RGB'))[:, :,
                                                                     ::-1])
    if not isinstance(item, np.ndarray):
        raise ImageError(source, f'not an image: a {type(item).__name__}')
    if item.ndim != 3 or item.shape[2] != 3 or item.size == 0:
        raise ImageError(source, f'an array of shape {item.shape}; give '
                         'H x W x 3 (BGR)')
    if item.dtype != np.uint8:
        raise ImageError(source, f'an array of dtype {item.dtype}; give '
                         'uint8 (0-255, BGR)')
    return pipelines['array'](dict(meta, img=item))


def _short(value) -> str:
    """``value``'s repr cut to 40 characters, and its type."""
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + '...'
    return f'{text} ({type(value).__name__})'


def _check_texts(texts) -> None:
    """``texts`` is a string or a list / tuple of strings; else a TypeError
    naming the argument, what it takes and what it got."""
    if isinstance(texts, str):
        return
    if isinstance(texts, (list, tuple)):
        wrong = [t for t in texts if not isinstance(t, str)]
        if not wrong:
            return
        got = (f'a {type(texts).__name__} holding {_short(wrong[0])}, '
               'which is not a string')
    else:
        got = 'None' if texts is None else _short(texts)
    raise TypeError(
        'texts: give the class names / phrases as one string, split at '
        '". " ("raccoon. trash can"), or a list of strings (["raccoon", '
        f'"trash can"]); got {got}.')


def prompt_warnings(model, names: Sequence[str]) -> List[str]:
    """Warnings for names the model's language model cannot tell apart
    (only unknown tokens, or the same tokens as another name)."""
    return name_warnings(model.language_model.tokenizer, names)


def _run_batch(model, batch: List[dict]) -> list:
    """``model.test_step`` under ``torch.inference_mode`` (no autograd
    bookkeeping at all); the detections come back as ordinary tensors, so
    that callers may change them in place."""
    with torch.inference_mode():
        samples = model.test_step(pseudo_collate(batch))
    for sample in samples:
        pred = sample.get('pred_instances', None)
        if pred is None:
            continue
        for key in list(pred.keys()):
            if isinstance(pred[key], torch.Tensor):
                pred[key] = pred[key].clone()
    return samples


def iter_inference(model, images, texts: Union[str, Sequence[str]],
                   batch_size: int = 1) -> Iterator[ImageResult]:
    """Detect ``texts`` in each image; yields one :class:`ImageResult` per
    image, in input order, as soon as its batch is done.

    An image that cannot be read (missing, not an image, truncated, wrong
    array shape) yields its error and the others go on. Note that images
    batched together are padded to the batch's largest size, and GLIP's
    global operations (DyHead's scale attention, the text-image fusion)
    see the padding: predictions with ``batch_size > 1`` can differ slightly
    from ``batch_size=1``, unless all images of a batch have one size.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size={batch_size}: use 1 or more.')
    _check_texts(texts)
    inputs, _ = _as_inputs(images)
    names = prompt_names(texts)
    pipelines = dict(path=test_pipeline(model.cfg),
                     array=test_pipeline(model.cfg, from_array=True))
    for start in range(0, len(inputs), batch_size):
        batch, good = [], []
        outcomes = {}
        for index in range(start, min(start + batch_size, len(inputs))):
            item = inputs[index]
            try:
                data = _load_input(item, index, names, pipelines)
            except ImageError as exc:
                outcomes[index] = ImageResult(index, _source(item, index),
                                              error=exc)
                continue
            except Exception as exc:  # noqa: BLE001 (named below)
                outcomes[index] = ImageResult(
                    index, _source(item, index),
                    error=decode_failure(_source(item, index), exc))
                continue
            batch.append(data)
            good.append(index)
        if batch:
            for index, sample in zip(good, _run_batch(model, batch)):
                outcomes[index] = ImageResult(index,
                                              _source(inputs[index], index),
                                              sample=sample)
        for index in sorted(outcomes):
            yield outcomes[index]


def inference(model, images, texts: Union[str, Sequence[str]],
              batch_size: int = 1):
    """Detect ``texts`` (a ``"a. b. c"`` string, split on ". ", or a list of
    names taken as they are) in images.

    Args:
        model: from :func:`init_model`.
        images: a path (image or folder), a numpy array (BGR), a PIL image,
            or a list of them.
        texts: the class names / phrases.
        batch_size: images per forward pass (see :func:`iter_inference` on
            padding).

    Returns:
        For one image, its DetDataSample with ``pred_instances``
        (``bboxes`` in original pixels, ``scores``, ``labels``,
        ``label_names``); for a list or a folder, a list of them in order.

    Raises:
        ImageError: the first image that cannot be read, naming it (use
            :func:`iter_inference` to go on past bad images).
        TypeError: ``images`` or ``texts`` of a type not listed above
            (``None``, a number...), naming the argument.
    """
    import warnings
    _check_texts(texts)
    inputs, single = _as_inputs(images)
    names = prompt_names(texts)
    for msg in prompt_warnings(model, names):
        warnings.warn(msg, stacklevel=2)
    results = []
    for res in iter_inference(model, inputs, names, batch_size):
        if res.error is not None:
            raise res.error
        results.append(res.sample)
    return results[0] if single else results
