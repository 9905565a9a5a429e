"""Fixtures of the model tests."""
import json
import shutil

import pytest


@pytest.fixture(scope='session')
def tiny_bert(tmp_path_factory):
    """A 2-layer, 64-wide BERT directory (config, the uncased vocabulary,
    no weights) for GLIP-T-shaped test models."""
    from mmglip.models.language.local_dirs import (BERT_BASE_UNCASED,
                                                   minilm_dir)
    d = tmp_path_factory.mktemp('tiny_bert')
    (d / 'config.json').write_text(json.dumps(dict(
        BERT_BASE_UNCASED, hidden_size=64, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=128)))
    shutil.copyfile(minilm_dir() / 'vocab.txt', d / 'vocab.txt')
    (d / 'tokenizer_config.json').write_text(json.dumps(
        dict(do_lower_case=True, tokenizer_class='BertTokenizer')))
    return str(d)
