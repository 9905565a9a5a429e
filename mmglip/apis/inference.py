"""Build a GLIP model from a config or zoo name, load weights, run it."""
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from mmglip.text import split_texts
from mmglip.zoo.download import is_zoo_reference, resolve_weights
from mmglip.zoo.index import load_index, model_names
from mmglip.zoo.official import (LoadReport, is_official, load_into_model,
                                 load_official)

#: zoo names -> config files under configs/, read from model-index.yml
MODEL_NAMES = model_names()
#: models without released weights, by name -> config under configs/
LOCAL_MODELS = {'glip-lite': 'glip_lite/glip-lite_raccoon-mini.py'}
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def config_root() -> Path:
    """The ``configs/`` folder: in the source tree, or packaged in .mim."""
    pkg = Path(__file__).resolve().parents[1]
    for candidate in (pkg.parent / 'configs', pkg / '.mim' / 'configs'):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f'No configs/ folder beside {pkg}.')


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
        f'{", ".join(list(MODEL_NAMES) + list(LOCAL_MODELS))}.')


def load_weights(model: torch.nn.Module, weights: str,
                 key: str = 'model', strict: bool = True) -> LoadReport:
    """Load an official GLIP file, an mmglip / mmengine checkpoint, or a zoo
    model by name (``glip-t_c`` or ``mmglip://glip-t_c``: from the cache,
    downloaded and verified on first use, see :mod:`mmglip.zoo.download`)."""
    if not os.path.isfile(weights) and is_zoo_reference(weights):
        weights = resolve_weights(weights, weights_key=key)
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f'Weights file not found: {weights} (nor a zoo name: '
            f'{", ".join(MODEL_NAMES)}).')
    ckpt = torch.load(weights, map_location='cpu', weights_only=False)
    if not isinstance(ckpt, dict):
        raise ValueError(f'{weights} does not hold a state dict.')
    official = is_official(ckpt.get(key, ckpt)) if isinstance(
        ckpt.get(key, ckpt), dict) else False
    if official:
        if key not in ckpt:
            ckpt, key = {'model': ckpt}, 'model'
        return load_official(model, ckpt, key, strict=strict, source=weights)
    sd = ckpt.get('state_dict', ckpt)
    sd = {k[7:] if k.startswith('module.') else k: v for k, v in sd.items()}
    return load_into_model(model, sd, weights, strict=strict)


def init_model(config: Union[str, Config], weights: Optional[str] = None,
               device: str = 'cpu', weights_key: str = 'model',
               language_model: Optional[str] = None,
               cfg_options: Optional[Dict] = None):
    """Build a GLIP detector ready for inference.

    Args:
        config: config path, zoo name or Config.
        weights: checkpoint (official or mmglip); without it the model keeps
            its initialisation (pretrained parts loaded by init_weights).
        weights_key: ``model`` or ``model_ema`` for official files.
        language_model: hub id or local directory replacing the config's
            language model name.
    """
    from mmglip.registry import MODELS
    import mmglip
    mmglip.register_all_modules()
    cfg = config if isinstance(config, Config) else Config.fromfile(
        resolve_config(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if language_model:
        cfg.model.language_model.name = language_model
    if weights:
        # the checkpoint carries BERT: only its config/vocab are read
        cfg.model.language_model.pretrained = False
    model = MODELS.build(cfg.model)
    model.cfg = cfg
    if weights:
        report = load_weights(model, weights, weights_key)
        model.load_report = report
    else:
        model.init_weights()
    return model.to(device).eval()


def list_images(inputs: Union[str, Sequence[str]]) -> List[str]:
    """An image, a folder of images, or a list of either -> image paths."""
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    images = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(
                os.path.join(item, f) for f in os.listdir(item)
                if f.lower().endswith(IMAGE_SUFFIXES))
            if not found:
                raise FileNotFoundError(f'No images in folder {item}.')
            images.extend(found)
        elif os.path.isfile(item):
            images.append(item)
        else:
            raise FileNotFoundError(f'Input not found: {item}')
    return images


def test_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline without annotation loading."""
    from mmglip.registry import TRANSFORMS  # noqa: F401 (scope)
    steps = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if 'LoadAnnotations' not in t['type']
    ]
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmglip'))
    return Compose(steps)


@torch.no_grad()
def inference(model, images: Sequence[str], texts: Union[str, Sequence[str]],
              batch_size: int = 1) -> list:
    """Detect ``texts`` (a ``"a. b. c"`` string or a list of names) in
    images; returns one DetDataSample per image with ``pred_instances``
    (``bboxes`` in original pixels, ``scores``, ``labels``,
    ``label_names``)."""
    names = split_texts(texts) if isinstance(texts, str) else list(texts)
    pipeline = test_pipeline(model.cfg)
    results = []
    for start in range(0, len(images), batch_size):
        batch = [
            pipeline(dict(img_path=p, img_id=i, text=tuple(names),
                          custom_entities=True))
            for i, p in enumerate(images[start:start + batch_size], start)
        ]
        results.extend(model.test_step(pseudo_collate(batch)))
    return results
