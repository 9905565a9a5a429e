"""What an exported ONNX folder records about its model, and the checks
that a folder belongs to the model a user asks for.

Each ``.onnx`` file carries, in its ``metadata_props``, the keys of
:data:`KEYS` (``mmglip.*``); the detector also the config it was exported
from. ONNX Runtime reads them without the ``onnx`` package.
"""
import hashlib
import json
import os
from typing import Dict, Optional

from mmengine.config import Config

from .errors import DeployError

#: the metadata keys every exported graph carries
KEYS = ('mmglip.variant', 'mmglip.model_sha256', 'mmglip.weights',
        'mmglip.weights_sha256', 'mmglip.version', 'mmglip.opset',
        'mmglip.graph', 'mmglip.mean', 'mmglip.std', 'mmglip.bgr_to_rgb',
        'mmglip.pad_size_divisor', 'mmglip.input_scale',
        'mmglip.max_tokens', 'mmglip.lang_dim', 'mmglip.early_fuse',
        'mmglip.num_levels', 'mmglip.fixed_prompt')

TEXT_ENCODER = 'text_encoder.onnx'
DETECTOR = 'detector.onnx'
TOKENIZER = 'tokenizer'

#: model options that do not change what the graphs compute (training,
#: memory, initialisation, where a language model's files are)
_NOT_ARCHITECTURE = frozenset({
    'train_cfg', 'test_cfg', 'init_cfg', 'pretrained', 'with_cp',
    'use_checkpoint', 'checkpoint_heads', 'frozen_stages', 'cache_size',
    'fast_inference', 'chunk_size', 'pad_to_max', 'name', 'dropout',
    'drop_path', 'drop_path_rate', 'drop_rate', 'attn_drop_rate', 'freeze',
    'plugin'})


def _architecture(node):
    if isinstance(node, dict):
        return {k: _architecture(v) for k, v in sorted(node.items())
                if k not in _NOT_ARCHITECTURE}
    if isinstance(node, (list, tuple)):
        return [_architecture(v) for v in node]
    return node


def model_fingerprint(cfg: Config) -> str:
    """SHA-256 of the model config's architecture (options that do not
    change the computed function left out): two configs of one variant
    give the same value, another variant another."""
    model = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') \
        else dict(cfg.model)
    text = json.dumps(_architecture(model), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def variant_name(model: str) -> str:
    """How messages name a variant: a zoo name as given, else the config
    file's name without ``.py``."""
    base = os.path.basename(model)
    return base[:-3] if base.endswith('.py') else base


def weights_identity(weights: Optional[str]) -> Dict[str, str]:
    """``{'weights': label, 'weights_sha256': digest}`` of a weights file
    or zoo name (``none`` for a model without loaded weights)."""
    if not weights:
        return dict(weights='none (initialisation)', weights_sha256='none')
    from mmglip.zoo.hub import sha256_file
    from mmglip.weights.load import resolve_source
    path, label = resolve_source(os.fspath(weights))
    return dict(weights=label, weights_sha256=sha256_file(path))


def describe(meta: Dict[str, str]) -> str:
    """``VARIANT (weights LABEL, sha256 1234abcd...)``."""
    sha = meta.get('mmglip.weights_sha256', '?')
    return (f'{meta.get("mmglip.variant", "?")} (weights '
            f'{meta.get("mmglip.weights", "?")}, sha256 '
            f'{sha[:12] + "..." if len(sha) > 12 else sha})')


def check_same_model(meta: Dict[str, str], where: str, cfg: Config,
                     variant: str, weights: Optional[str] = None) -> None:
    """A :class:`DeployError` naming both when the folder ``where`` (its
    metadata ``meta``) was exported from another variant than ``cfg`` /
    ``variant``, or (with ``weights``) from other weights."""
    again = (f'export it again: python tools/deploy/export_onnx.py '
             f'{variant} --weights WEIGHTS --out NEW_DIR')
    if meta.get('mmglip.model_sha256') != model_fingerprint(cfg):
        raise DeployError(
            f'{where} holds {describe(meta)}, another model than the '
            f'{variant} asked for; {again}.')
    if weights:
        mine = weights_identity(weights)
        if mine['weights_sha256'] != meta.get('mmglip.weights_sha256'):
            raise DeployError(
                f'{where} was exported from other weights than '
                f'{mine["weights"]} (sha256 {mine["weights_sha256"][:12]}'
                f'...): it holds {describe(meta)}; {again}.')
