"""Detection annotations -> a grounding prompt, as GLIP pretrains on
detection data (Objects365, COCO, ODinW).

Pure python (and numpy's random generator), no torch. For one image, the
classes of its boxes (the *positives*) and some other classes (the
*negatives*) are shuffled into a class-list caption (``"cat. dog. car"``,
:func:`~mmglip.text.prompts.build_class_prompt`); the boxes' labels become
the index of their class's entity in that caption. The sampling follows the
official implementation (``od_to_grounding.py``, ``RANDOM_SAMPLE_NEG: 85``,
``CONTROL_PROB: (0.0, 0.0, 0.5, 0.0)``):

* every positive is kept, in random order, as long as the positives fit the
  language model. Positives that do not fit are dropped (the last ones of
  the shuffled order, so a random subset) together with their boxes; the
  official code does this silently, here they are returned so that the
  caller can warn;
* the number of negatives: ``full = min(num_negatives, number of
  classes)``; with probability ``full_negative_prob`` all ``full``,
  otherwise a count uniform in ``1..full``. They are drawn without
  replacement from all classes; positives among them are discarded (a class
  present in the image is never a negative, its boxes dropped or not); the
  rest are kept in their drawn order while the caption still fits;
* positives and negatives are shuffled together.

Fitting uses per-class token counts (``tokenizer(piece + ". ")``, cached by
:class:`TokenCounter`), then one exact count of the whole caption: with a
tokenizer whose counts do not add up (byte-level BPE), the last negatives
(then positives) are removed until the caption fits.
"""
import hashlib
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from .positive_map import count_tokens
from .prompts import SEPARATOR, Prompt, PromptError, build_class_prompt, \
    clean_name


class DetectionPrompt(NamedTuple):
    """What :func:`detection_prompt` draws for one image.

    Attributes:
        prompt: the caption, one entity per class in it (``extra['classes']``
            holds each entity's class index).
        label_to_entity: class index -> entity index, for the positives
            kept (relabel the boxes with it).
        dropped: class indices of positives that did not fit (their boxes
            must be removed), sorted.
        negatives: class indices of the negatives in the caption.
    """
    prompt: Prompt
    label_to_entity: Dict[int, int]
    dropped: List[int]
    negatives: List[int]


class TokenCounter:
    """Token counts of a tokenizer's class-list captions, cached per class.

    Reuse one counter across images (the transform keeps one): a class's
    count is computed once, not once per image it is drawn for.

    Args:
        tokenizer: a HF fast tokenizer (as the language model loads it).
        separator: between classes in the caption.
    """

    def __init__(self, tokenizer, separator: str = SEPARATOR) -> None:
        self.tokenizer = tokenizer
        self.separator = separator
        self.special = len(tokenizer('', add_special_tokens=True)['input_ids'])
        self.separator_tokens = self._count(separator)
        self._cache: Dict[str, int] = {}
        self._checked = set()

    def _count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)['input_ids'])

    def piece(self, text: str) -> int:
        """Tokens of ``text`` followed by the separator."""
        n = self._cache.get(text)
        if n is None:
            n = self._cache[text] = self._count(text + self.separator)
        return n

    def check_names(self, class_names: Sequence[str]) -> None:
        """Raise :class:`PromptError` for a class name that is empty after
        cleaning (once per class list: a bad name must fail on the first
        image, not when it is first drawn as a negative)."""
        key = tuple(class_names)
        if key in self._checked:
            return
        for i, raw in enumerate(class_names):
            if not clean_name(str(raw)).strip():
                raise PromptError(
                    f'Class name #{i} ({raw!r}) is empty after cleaning: '
                    'every class needs a name.')
        self._checked.add(key)

    def caption(self, caption: str) -> int:
        """Exact tokens of a whole caption, [CLS] and [SEP] included."""
        return count_tokens(self.tokenizer, caption)


def check_sampling(max_tokens: int, num_negatives: int,
                   full_negative_prob: float) -> None:
    """Raise :class:`PromptError` for sampling settings that make no sense
    (checked when a transform is built, not per image)."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) \
            or max_tokens < 3:
        raise PromptError(f'max_tokens={max_tokens!r}: give the number of '
                          'tokens the language model reads (GLIP: 256).')
    if isinstance(num_negatives, bool) or not isinstance(
            num_negatives, int) or num_negatives < 0:
        raise PromptError(f'num_negatives={num_negatives!r}: give an int >= '
                          '0 (GLIP: 85).')
    if not isinstance(full_negative_prob, (int, float)) or \
            not 0.0 <= full_negative_prob <= 1.0:
        raise PromptError(f'full_negative_prob={full_negative_prob!r}: give '
                          'a probability in [0, 1] (GLIP: 0.5).')


def image_key(img_id=None, img_path: Optional[str] = None) -> int:
    """A stable 64-bit key of an image: the same in every process, run and
    machine (python's ``hash()`` of a string is salted per process).

    Built from ``img_id`` and the file's *name* (not its folder, which
    differs between machines); both are used so that two concatenated
    datasets with the same image ids still get different keys.
    """
    if img_id is None and img_path is None:
        raise PromptError('A seeded detection prompt needs the image\'s '
                          'img_id or img_path to draw from; the sample has '
                          'neither (use seed=None).')
    name = '' if img_path is None else osp.basename(str(img_path))
    digest = hashlib.blake2b(f'{img_id}|{name}'.encode('utf-8'),
                             digest_size=8).digest()
    return int.from_bytes(digest, 'little')


def image_rng(seed: Optional[int], key: int) -> np.random.Generator:
    """The generator an image's prompt is drawn from.

    With an int ``seed``: ``default_rng([seed, key])``, a function of the
    image only, so any number of dataloader workers or processes draws the
    same prompt for it (and every epoch draws the same one). With None: a
    generator seeded from numpy's global RNG, which mmengine seeds per
    worker and rank (fresh draws every epoch; reproducible only for the
    same seed, worker count and world size).
    """
    if seed is None:
        return np.random.default_rng(np.random.randint(2**31 - 1, size=4))
    return np.random.default_rng([seed, key])


def _piece(class_names: Sequence[str], caption_prompt, i: int) -> str:
    """Class ``i``'s text in the caption: build_class_prompt's caption of
    that class alone (prefix, cleaned or replaced name, suffix)."""
    entry = None if caption_prompt is None else [caption_prompt[i]]
    return build_class_prompt([class_names[i]], entry).caption


def _check_labels(labels, num_classes: int) -> List[int]:
    out = []
    for label in labels:
        try:
            value = int(label)
        except (TypeError, ValueError):
            value = None
        if value is None or value != label or isinstance(label,
                                                         (bool, np.bool_)):
            raise PromptError(f'Box label {label!r} is not a class index: '
                              'labels must be ints indexing class_names.')
        if not 0 <= value < num_classes:
            raise PromptError(
                f'Box label {value} is out of range: there are '
                f'{num_classes} classes (labels 0..{num_classes - 1}); the '
                'labels must index the class names the dataset gives.')
        out.append(value)
    return out


def detection_prompt(class_names: Sequence[str],
                     labels: Sequence[int],
                     rng: np.random.Generator,
                     tokenizer,
                     max_tokens: int = 256,
                     num_negatives: int = 85,
                     full_negative_prob: float = 0.5,
                     caption_prompt: Optional[Sequence[dict]] = None
                     ) -> DetectionPrompt:
    """Draw one image's prompt (see the module docstring for the sampling).

    Args:
        class_names: all classes of the dataset, in label order.
        labels: the image's box labels (indices into ``class_names``).
        rng: the generator to draw from (:func:`image_rng`).
        tokenizer: a HF fast tokenizer, or a :class:`TokenCounter` wrapping
            one (to reuse its cached counts across images).
        max_tokens: the caption never has more tokens ([CLS] / [SEP]
            included); the language model's ``max_tokens``.
        num_negatives: at most this many negatives (GLIP: 85).
        full_negative_prob: the probability of drawing all
            ``min(num_negatives, len(class_names))`` negatives rather than
            a uniform count (GLIP: 0.5).
        caption_prompt: optional, one ``prefix`` / ``name`` / ``suffix``
            dict per class (in class order), as in ODinW configs.

    Raises:
        PromptError: an empty class list, a label out of range, bad
            settings, a caption_prompt of another length, a class name that
            is empty after cleaning, or no positive fitting ``max_tokens``.
    """
    num_classes = len(class_names)
    if num_classes == 0:
        raise PromptError('The class list is empty: a detection prompt '
                          'needs the dataset\'s class names.')
    if caption_prompt is not None and len(caption_prompt) != num_classes:
        raise PromptError(
            f'caption_prompt has {len(caption_prompt)} entries but there are '
            f'{num_classes} classes: give one dict (prefix/name/suffix) per '
            'class, in class order.')
    check_sampling(max_tokens, num_negatives, full_negative_prob)
    labels = _check_labels(labels, num_classes)
    counter = tokenizer if isinstance(tokenizer, TokenCounter) else \
        TokenCounter(tokenizer)
    counter.check_names(class_names)

    def tokens(i: int) -> int:
        return counter.piece(_piece(class_names, caption_prompt, i))

    # an empty caption costs the special tokens; every class adds its
    # tokens and a separator, and the last separator is not written
    used = counter.special - counter.separator_tokens
    positives = sorted(set(labels))
    positives = [positives[i] for i in rng.permutation(len(positives))]
    kept = []
    for c in positives:
        if used + tokens(c) > max_tokens:
            break
        kept.append(c)
        used += tokens(c)
    dropped = positives[len(kept):]
    if positives and not kept:
        shortest = min(positives, key=tokens)
        raise PromptError(
            f'No class of the image fits in {max_tokens} tokens (the '
            f'shortest, {class_names[shortest]!r}, takes {tokens(shortest)}'
            '): raise max_tokens or shorten the class names.')

    full = min(num_negatives, num_classes)
    draw_all = rng.random() < full_negative_prob
    if full == 0:
        count = 0
    elif draw_all:
        count = full
    else:
        count = int(rng.integers(1, full + 1))
    drawn = rng.choice(num_classes, size=count, replace=False)
    is_positive = set(positives)
    negatives = []
    for c in (int(c) for c in drawn):
        if c in is_positive:
            continue
        if used + tokens(c) > max_tokens:
            break
        negatives.append(c)
        used += tokens(c)

    entities = kept + negatives
    order = [entities[i] for i in rng.permutation(len(entities))]
    if not order:
        raise PromptError('Nothing to prompt: the image has no box and no '
                          'negative was drawn (num_negatives=0?).')
    prompt = _build(class_names, caption_prompt, order, counter.separator)
    # exact check: per-class counts need not add up for every tokenizer
    while counter.caption(prompt.caption) > max_tokens:
        if negatives:
            gone = negatives.pop()
        elif len(kept) > 1:
            gone = kept.pop()
            dropped.append(gone)
        else:
            raise PromptError(
                f'The caption {prompt.caption[:80]!r} has '
                f'{counter.caption(prompt.caption)} tokens, more than '
                f'max_tokens={max_tokens}: raise max_tokens or shorten the '
                'class names.')
        order.remove(gone)
        prompt = _build(class_names, caption_prompt, order, counter.separator)
    label_to_entity = {c: order.index(c) for c in kept}
    negatives = [c for c in order if c not in is_positive]
    return DetectionPrompt(prompt, label_to_entity, sorted(dropped),
                           negatives)


def _build(class_names, caption_prompt, order: List[int],
           separator: str) -> Prompt:
    names = [class_names[c] for c in order]
    entries = None if caption_prompt is None else \
        [caption_prompt[c] for c in order]
    prompt = build_class_prompt(names, entries, separator=separator)
    prompt.extra['classes'] = list(order)
    return prompt


__all__ = [
    'DetectionPrompt', 'TokenCounter', 'check_sampling', 'detection_prompt',
    'image_key', 'image_rng'
]
