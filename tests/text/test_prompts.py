import pytest

from mmglip.text import (PromptError, build_caption_prompt,
                         build_class_prompt, build_class_prompts,
                         build_prompts, count_tokens, prompt_names,
                         prompt_token_ids, split_texts)

COCO = ('person bicycle car motorcycle airplane bus train truck boat '
        'traffic_light fire_hydrant stop_sign').split()


def test_class_prompt_matches_official_caption():
    p = build_class_prompt(['person', 'traffic_light', 'hair drier'])
    assert p.caption == 'person. traffic light. hair drier'
    assert p.spans == [[[0, 6]], [[8, 21]], [[23, 33]]]
    assert [p.caption[s[0][0]:s[0][1]] for s in p.spans] == \
        ['person', 'traffic light', 'hair drier']


def test_clean_name_drops_parentheses():
    assert build_class_prompt(['bow (weapon)']).caption == 'bow '


def test_caption_prompt_only_name_positive(tokenizer):
    p = build_class_prompt(['penguin', 'puffin'], [
        dict(suffix=', which is black and white'),
        dict(prefix='a ', suffix=' with orange beaks')
    ])
    assert p.caption == ('penguin, which is black and white. '
                         'a puffin with orange beaks')
    ids = prompt_token_ids(tokenizer, p)
    tokens = tokenizer(p.caption)['input_ids']
    assert tokenizer.decode([tokens[i] for i in ids[0]]) == 'penguin'
    assert tokenizer.decode([tokens[i] for i in ids[1]]) == 'puffin'


def test_multi_token_class(tokenizer):
    p = build_class_prompt(['person', 'fire hydrant'])
    ids = prompt_token_ids(tokenizer, p)
    tokens = tokenizer(p.caption)['input_ids']
    assert ids[0] == [1]  # [CLS] is token 0
    assert tokenizer.decode([tokens[i] for i in ids[1]]) == 'fire hydrant'
    assert len(ids[1]) >= 2


def test_split_texts():
    assert split_texts('cat. remote control. dog.') == \
        ['cat', 'remote control', 'dog']
    assert split_texts('  ') == []
    # only a period followed by white space separates names
    assert split_texts('raccoon.dog') == ['raccoon.dog']
    assert split_texts('v1.2 robot.  bin.\ncat') == ['v1.2 robot', 'bin',
                                                     'cat']
    assert split_texts('Mr. Smith. dog') == ['Mr', 'Smith', 'dog']


def test_name_warnings_name_unknown_and_identical_names(tokenizer):
    from mmglip.text import name_warnings
    msgs = name_warnings(tokenizer, ['raccoon', '\U0001F99D', 'Raccoon',
                                     '\u6d63\u718a', 'garbage bin'])
    # the emoji and the CJK name are [UNK] only; "Raccoon" equals "raccoon"
    # for an uncased vocabulary
    assert len(msgs) == 3, msgs
    assert "'\U0001F99D' is only unknown tokens" in msgs[0]
    assert "'Raccoon' and 'raccoon' tokenize the same" in msgs[1]
    assert 'unknown tokens' in msgs[2]
    assert name_warnings(tokenizer, ['raccoon', 'garbage bin']) == []


@pytest.mark.parametrize('bad', [[], ['cat', '  ']])
def test_empty_prompt_errors(bad):
    with pytest.raises(PromptError, match='empty'):
        build_class_prompt(bad)


def test_free_caption_spans(tokenizer):
    caption = 'a raccoon sits next to a trash can'
    p = build_caption_prompt(caption, [[[2, 9]], [[25, 34]]])
    assert p.entities == ['raccoon', 'trash can']
    ids = prompt_token_ids(tokenizer, p)
    tokens = tokenizer(caption)['input_ids']
    assert tokenizer.decode([tokens[i] for i in ids[1]]) == 'trash can'
    with pytest.raises(PromptError, match='outside the caption'):
        build_caption_prompt(caption, [[[30, 80]]])


def test_caption_longer_than_256_tokens(tokenizer):
    caption = ' '.join(['cat'] * 300)
    p = build_caption_prompt(caption, [[[0, 3]]])
    with pytest.raises(PromptError, match=r'302 tokens .* at most 256'):
        prompt_token_ids(tokenizer, p)


def test_1203_classes_are_chunked_not_truncated(tokenizer):
    # LVIS-sized list: 1,203 distinct names
    names = [f'{COCO[i % len(COCO)]} kind {i}' for i in range(1203)]
    prompts = build_class_prompts(tokenizer, names)
    assert len(prompts) > 1
    assert [n for p in prompts for n in p.entities] == \
        [n.replace('_', ' ') for n in names]
    assert [p.label_offset for p in prompts] == \
        [sum(len(q.entities) for q in prompts[:i])
         for i in range(len(prompts))]
    for p in prompts:
        assert count_tokens(tokenizer, p.caption) <= 256
        assert len(prompt_token_ids(tokenizer, p)) == len(p.entities)
    fixed = build_class_prompts(tokenizer, names, chunk_size=40)
    assert [len(p.entities) for p in fixed] == [40] * 30 + [3]


def test_80_coco_names_fit_one_prompt(tokenizer):
    names = open(__file__.replace('test_prompts.py',
                                  'coco_names.txt')).read().split('\n')
    names = [n for n in names if n]
    prompts = build_class_prompts(tokenizer, names)
    assert len(prompts) == 1 and len(prompts[0].entities) == 80


def test_prompt_names_the_one_way_from_user_texts_to_names():
    assert prompt_names('cat. remote control. dog.') == \
        ['cat', 'remote control', 'dog']
    assert prompt_names(['Mr. Smith', ' dog ']) == ['Mr. Smith', 'dog']
    with pytest.raises(PromptError, match='^--texts is empty'):
        prompt_names(' . ', '--texts')
    with pytest.raises(PromptError, match='an empty name'):
        prompt_names(['cat', ' '])


def test_build_prompts_of_a_sample_text(tokenizer):
    caption = 'a raccoon next to a trash can'
    (p, ) = build_prompts(tokenizer, caption, [[[2, 9]], [[20, 29]]])
    assert p.caption == caption and p.entities == ['raccoon', 'trash can']
    # a "a. b" string without spans (or spans -1) is a class list
    for spans in (None, -1):
        (p, ) = build_prompts(tokenizer, 'raccoon. trash can', spans)
        assert p.caption == 'raccoon. trash can'
        assert p.entities == ['raccoon', 'trash can']
    chunks = build_prompts(tokenizer, ['a', 'b', 'c'], chunk_size=2,
                           caption_prompt=[{}, {'suffix': ' x'}, {}])
    assert [c.caption for c in chunks] == ['a. b x', 'c']
    assert [c.label_offset for c in chunks] == [0, 2]


def test_a_chunked_class_list_is_said_once_without_the_length_warning(
        bert_dir, monkeypatch):
    """A class list of more tokens than the tokenizer's model_max_length
    (512): no "Token indices sequence length ... indexing errors" warning
    from the tokenizer (the list is chunked, nothing is indexed past 512);
    instead one INFO line says how many prompts were used and why, once
    per class list."""
    import logging

    from mmengine.logging import MMLogger
    from transformers import AutoTokenizer

    from mmglip.text import chunking
    tokenizer = AutoTokenizer.from_pretrained(bert_dir)  # a fresh "once"
    monkeypatch.setattr(chunking, '_ANNOUNCED', set())
    said = []

    class Keep(logging.Handler):
        def emit(self, record):
            said.append((record.levelno, record.getMessage()))

    keep = Keep(logging.DEBUG)
    call_handlers = MMLogger.callHandlers
    monkeypatch.setattr(MMLogger, 'callHandlers', lambda self, record: (
        keep.handle(record), call_handlers(self, record)))
    MMLogger.get_current_instance().setLevel(logging.INFO)
    logging.getLogger('transformers').addHandler(keep)
    try:
        names = [f'{COCO[i % len(COCO)]} kind {i}' for i in range(300)]
        for _ in range(3):
            prompts = build_class_prompts(tokenizer, names)
        fixed = build_class_prompts(tokenizer, names, chunk_size=40)
    finally:
        logging.getLogger('transformers').removeHandler(keep)
    caption = '. '.join(n.replace('_', ' ') for n in names)
    whole = len(tokenizer(caption, verbose=False)['input_ids'])
    assert whole > 512

    def longest(chunks):
        return max(len(tokenizer(p.caption)['input_ids']) for p in chunks)

    assert not any('indexing errors' in m or 'Token indices' in m
                   for _, m in said), said
    assert said == [
        (logging.INFO,
         f'300 class names are run as {len(prompts)} prompts (chunks, the '
         f'longest {longest(prompts)} tokens), one after another: all of '
         f'them make a prompt of {whole} tokens, more than the 256 the '
         'language model reads.'),
        (logging.INFO,
         f'300 class names are run as {len(fixed)} prompts (chunks, the '
         f'longest {longest(fixed)} tokens), one after another: '
         'chunk_size=40 classes per prompt.')]
    assert len(fixed) == 8 and len(prompts) > 1
