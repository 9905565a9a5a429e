"""The prompts of a sample's text, each fitting the language model: a
class list packed or chunked into captions, or one caption with its spans.

Pure python, no torch.
"""
from typing import List, Optional, Sequence, Union

from .positive_map import count_tokens
from .prompts import (Prompt, PromptError, build_caption_prompt,
                      build_class_prompt, prompt_names)


def build_prompts(tokenizer,
                  text: Union[str, Sequence[str]],
                  tokens_positive=None,
                  caption_prompt: Optional[Sequence[dict]] = None,
                  max_tokens: int = 256,
                  chunk_size: Optional[int] = None) -> List[Prompt]:
    """The prompt(s) of one sample's ``text`` (several for a class list that
    does not fit ``max_tokens``, or with ``chunk_size``).

    ``text`` is a list of class names, or a caption with ``tokens_positive``
    (per entity, its character spans; ``None`` / ``-1``: none), or a
    ``"a. b. c"`` string without spans (:func:`prompt_names`).
    ``caption_prompt``: per class ``prefix`` / ``name`` / ``suffix``.
    """
    if isinstance(text, str) and tokens_positive is not None \
            and tokens_positive != -1:
        return [build_caption_prompt(text, tokens_positive)]
    names = prompt_names(text) if isinstance(text, str) else list(text)
    return build_class_prompts(tokenizer, names, max_tokens, chunk_size,
                               caption_prompt)


def chunk_class_names(class_names: Sequence[str],
                      chunk_size: int) -> List[List[str]]:
    """Split a class list into consecutive chunks of ``chunk_size``."""
    if chunk_size < 1:
        raise PromptError(f'chunk_size must be >= 1, got {chunk_size}.')
    return [
        list(class_names[i:i + chunk_size])
        for i in range(0, len(class_names), chunk_size)
    ]


def build_class_prompts(tokenizer,
                        class_names: Sequence[str],
                        max_tokens: int = 256,
                        chunk_size: Optional[int] = None,
                        caption_prompt: Optional[Sequence[dict]] = None
                        ) -> List[Prompt]:
    """One prompt per chunk of classes, each fitting ``max_tokens``.

    With ``chunk_size`` (official LVIS evaluation: 40) the list is split into
    fixed-size chunks; without it, one prompt holds all classes when they fit
    and otherwise classes are packed greedily, in order, into as few chunks
    as fit. Labels stay global: each prompt's ``label_offset`` is the index
    of its first class. Nothing is ever truncated.
    """
    if len(class_names) == 0:
        raise PromptError('The class list is empty: give at least one class '
                          'name (e.g. --texts "cat. dog").')

    def make(names, start):
        cp = None if caption_prompt is None else \
            caption_prompt[start:start + len(names)]
        return build_class_prompt(names, cp, label_offset=start)

    if chunk_size is not None:
        chunks = chunk_class_names(class_names, chunk_size)
    else:
        whole = make(class_names, 0)
        if count_tokens(tokenizer, whole.caption) <= max_tokens:
            return [whole]
        chunks, current = [], []
        for name in class_names:
            first = sum(len(c) for c in chunks)
            trial = make(current + [name], first)
            if current and count_tokens(tokenizer,
                                        trial.caption) > max_tokens:
                chunks.append(current)
                current = [name]
            else:
                current = current + [name]
        chunks.append(current)
    prompts, start = [], 0
    for names in chunks:
        prompt = make(names, start)
        n = count_tokens(tokenizer, prompt.caption)
        if n > max_tokens:
            raise PromptError(
                f'Classes {start}..{start + len(names) - 1} make a caption of '
                f'{n} tokens (> {max_tokens}): use a smaller chunk_size or '
                f'shorter names (first: {names[0]!r}).')
        prompts.append(prompt)
        start += len(names)
    if len(prompts) > 1:
        _say_chunks_once(tokenizer, class_names, prompts, max_tokens,
                         chunk_size)
    return prompts


#: the class lists whose chunks were announced (once per process)
_ANNOUNCED = set()


def chunk_message(tokenizer, class_names: Sequence[str],
                  prompts: Sequence[Prompt], max_tokens: int,
                  chunk_size: Optional[int]) -> str:
    """What :func:`build_class_prompts` did with a class list it split:
    how many prompts (chunks), and why."""
    longest = max(count_tokens(tokenizer, p.caption) for p in prompts)
    if chunk_size is not None:
        why = f'chunk_size={chunk_size} classes per prompt'
    else:
        whole = build_class_prompt(list(class_names)).caption
        why = (f'all of them make a prompt of '
               f'{count_tokens(tokenizer, whole)} tokens, more than the '
               f'{max_tokens} the language model reads')
    return (f'{len(class_names)} class names are run as {len(prompts)} '
            f'prompts (chunks, the longest {longest} tokens), one after '
            f'another: {why}.')


def _say_chunks_once(tokenizer, class_names, prompts, max_tokens,
                     chunk_size) -> None:
    """Log :func:`chunk_message` at INFO level, once per class list."""
    key = (tuple(class_names), max_tokens, chunk_size)
    if key in _ANNOUNCED:
        return
    _ANNOUNCED.add(key)
    import logging

    from mmengine.logging import print_log
    print_log(chunk_message(tokenizer, class_names, prompts, max_tokens,
                            chunk_size), logger='current', level=logging.INFO)
