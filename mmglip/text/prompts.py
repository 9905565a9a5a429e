"""Prompts: class names or free captions -> caption string + character spans.

Pure python, no torch. A *prompt* is what the language model reads (one
caption) plus, for each entity (a class, or a phrase of a free caption), the
list of ``[start, end)`` character spans that are its positive tokens.

The official GLIP evaluation builds a class-list caption by joining the
cleaned names with ``". "`` and no trailing separator
(``"person. bicycle. car"``); each class's span is its name's characters.
Caption prompts (``prefix`` / ``name`` / ``suffix`` per class, as in the ODinW
configs) add words around a name; only the name is positive.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Union

from mmglip.errors import UserError

SEPARATOR = '. '


class PromptError(UserError, ValueError):
    """A prompt that cannot be built; the message says what to change."""


@dataclass
class Prompt:
    """One caption and its entities.

    Attributes:
        caption: the text the language model reads.
        entities: one name per entity (class names, or phrases).
        spans: per entity, its positive ``[start, end)`` character spans.
        label_offset: index of this prompt's first entity in the full class
            list (non-zero for the later chunks of a chunked class list).
    """
    caption: str
    entities: List[str]
    spans: List[List[List[int]]]
    label_offset: int = 0
    extra: Dict = field(default_factory=dict)


def clean_name(name: str) -> str:
    """Official GLIP name cleaning: drop ``(...)``, ``_`` -> space, no
    double spaces (``"traffic_light"`` -> ``"traffic light"``)."""
    name = re.sub(r'\(.*\)', '', name)
    name = re.sub(r'_', ' ', name)
    name = re.sub(r'  ', ' ', name)
    return name


def split_texts(texts: str) -> List[str]:
    """Split a ``"cat. remote control. dog"`` string into names.

    Names are separated by a period followed by white space (``". "``), as
    the official prompts join them; a period inside a word stays
    (``"raccoon.dog"`` is one name, ``"v1.2"`` too). A trailing ``"."`` is
    dropped; empty parts are ignored. A name that itself holds ``". "``
    (``"Mr. Smith"``) cannot be given in one string: pass a list of names.
    """
    texts = texts.strip()
    if texts.endswith('.'):
        texts = texts[:-1]
    names = [part.strip() for part in re.split(r'\.\s+', texts)]
    return [n for n in names if n]


def prompt_names(texts: Union[str, Sequence[str]],
                 arg: str = 'texts') -> List[str]:
    """The names a user's ``texts`` stand for: the one place user text turns
    into class names / phrases.

    A string is split on ". " (:func:`split_texts`); a list (or tuple) is
    taken as one name per item, stripped.

    Raises:
        PromptError: no name at all, or an empty one; ``arg`` names the
            argument in the message (``--texts`` for tools/infer.py).
    """
    names = split_texts(texts) if isinstance(texts, str) else \
        [str(t).strip() for t in texts]
    if not names:
        raise PromptError(f'{arg} is empty: give phrases such as "cat. '
                          'remote control".')
    if not all(names):
        raise PromptError(
            f'{arg} {texts!r}: an empty name; give class names / phrases, '
            'e.g. "cat. remote control" or ["cat", "remote control"].')
    return names


def build_class_prompt(class_names: Sequence[str],
                       caption_prompt: Optional[Sequence[Dict]] = None,
                       separator: str = SEPARATOR,
                       clean: bool = True,
                       label_offset: int = 0) -> Prompt:
    """Caption for a list of class names, as the official evaluation builds it.

    Args:
        class_names: the class names, in label order.
        caption_prompt: optional, one dict per class with any of ``prefix``,
            ``name`` (replaces the class name in the caption) and ``suffix``.
        separator: between classes; none after the last.
        clean: apply :func:`clean_name` to each name.
        label_offset: stored on the prompt (see :class:`Prompt`).

    Raises:
        PromptError: on an empty list, an empty name, or a caption_prompt
            whose length differs from the class list.
    """
    if len(class_names) == 0:
        raise PromptError('The class list is empty: give at least one class '
                          'name (e.g. --texts "cat. dog").')
    if caption_prompt is not None and len(caption_prompt) != len(class_names):
        raise PromptError(
            f'caption_prompt has {len(caption_prompt)} entries but there are '
            f'{len(class_names)} classes: give one dict (prefix/name/suffix) '
            'per class, in class order.')
    caption = ''
    spans = []
    names = []
    for i, raw in enumerate(class_names):
        name = clean_name(raw) if clean else raw
        if not str(name).strip():
            raise PromptError(f'Class name #{i} ({raw!r}) is empty after '
                              'cleaning: every class needs a name.')
        entry = caption_prompt[i] if caption_prompt is not None else {}
        caption += entry.get('prefix', '')
        start = len(caption)
        caption += entry.get('name', name)
        spans.append([[start, len(caption)]])
        caption += entry.get('suffix', '')
        if i != len(class_names) - 1:
            caption += separator
        names.append(name)
    return Prompt(caption, names, spans, label_offset)


def build_caption_prompt(caption: str,
                         tokens_positive: Sequence[Sequence[Sequence[int]]],
                         entities: Optional[Sequence[str]] = None) -> Prompt:
    """A free caption with explicit positive spans (grounding data).

    Args:
        caption: the caption text.
        tokens_positive: per entity, a list of ``[start, end)`` char spans.
        entities: optional names; default is the caption text of each
            entity's first span.
    """
    if not caption or not caption.strip():
        raise PromptError('The caption is empty: give a text prompt.')
    spans = []
    for i, ent_spans in enumerate(tokens_positive):
        if len(ent_spans) == 0:
            raise PromptError(f'Entity #{i} has no character span.')
        for beg, end in ent_spans:
            if not 0 <= beg < end <= len(caption):
                raise PromptError(
                    f'Entity #{i} span [{beg}, {end}) lies outside the '
                    f'caption (length {len(caption)}): {caption!r}')
        spans.append([list(s) for s in ent_spans])
    if entities is None:
        entities = [caption[s[0][0]:s[0][1]] for s in spans]
    return Prompt(caption, list(entities), spans)
