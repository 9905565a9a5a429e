"""Character spans -> token indices, and class lists -> prompts that fit.

Works with any HF *fast* tokenizer (``tokenizer(text,
return_offsets_mapping=True)``), the API that is stable across transformers
4.x and 5.x. No torch here: positive maps are lists of token indices; the
model turns them into tensors.
"""
from typing import List, Optional, Sequence

from .prompts import (Prompt, PromptError, build_class_prompt,
                      chunk_class_names)


def token_offsets(tokenizer, caption: str) -> List[List[int]]:
    """``[start, end)`` character offsets of each token of ``caption``,
    special tokens included (as ``[0, 0]``), without padding."""
    enc = tokenizer(caption, return_offsets_mapping=True,
                    add_special_tokens=True)
    return [list(o) for o in enc['offset_mapping']]


def count_tokens(tokenizer, caption: str) -> int:
    """Number of tokens of ``caption`` including [CLS] and [SEP]."""
    return len(token_offsets(tokenizer, caption))


def name_warnings(tokenizer, names: Sequence[str]) -> List[str]:
    """Messages for names the language model cannot tell apart.

    A name whose every token is the tokenizer's unknown token (emoji, CJK
    with an uncased English vocabulary) carries no information, and two
    names with the same tokens (case, accents or unknown characters aside)
    get the same scores: neither is an error, but the user should know.
    """
    out, seen = [], {}
    unk = tokenizer.unk_token_id
    for name in names:
        ids = tokenizer(name, add_special_tokens=False)['input_ids']
        if ids and all(i == unk for i in ids):
            out.append(f'{name!r} is only unknown tokens ({tokenizer.unk_token}'
                       ') to the language model: it cannot be told apart '
                       'from other such names; write it in words the '
                       'vocabulary has')
        elif tuple(ids) in seen and seen[tuple(ids)] != name:
            out.append(f'{name!r} and {seen[tuple(ids)]!r} tokenize the '
                       'same: the model gives them the same scores')
        seen.setdefault(tuple(ids), name)
    return out


def _char_to_token(offsets: List[List[int]], char: int) -> Optional[int]:
    for idx, (beg, end) in enumerate(offsets):
        if beg <= char < end:
            return idx
    return None


def spans_to_token_ids(offsets: List[List[int]],
                       spans: Sequence[Sequence[int]]) -> List[int]:
    """Token indices covered by character spans, as official GLIP maps them.

    A span's first and last characters are looked up; where one falls on no
    token (a space), the official code tries the next characters (start + 1,
    + 2) or the previous ones (end - 2, end - 3). Every token from the first
    to the last found is positive.
    """
    ids = []
    for beg, end in spans:
        first = _char_to_token(offsets, beg)
        if first is None:
            first = _char_to_token(offsets, beg + 1)
            if first is None:
                first = _char_to_token(offsets, beg + 2)
        last = _char_to_token(offsets, end - 1)
        if last is None:
            last = _char_to_token(offsets, end - 2)
            if last is None:
                last = _char_to_token(offsets, end - 3)
        if first is None or last is None:
            continue
        ids.extend(range(first, last + 1))
    return sorted(set(ids))


def prompt_token_ids(tokenizer, prompt: Prompt,
                     max_tokens: int = 256) -> List[List[int]]:
    """Per entity of ``prompt``, its positive token indices.

    Raises:
        PromptError: the caption has more than ``max_tokens`` tokens, or an
            entity's span covers no token.
    """
    offsets = token_offsets(tokenizer, prompt.caption)
    if len(offsets) > max_tokens:
        raise PromptError(
            f'The caption has {len(offsets)} tokens but the language model '
            f'reads at most {max_tokens}: shorten it, or pass the class names '
            f'as a list (class lists are split into chunks automatically). '
            f'Caption starts: {prompt.caption[:80]!r}')
    token_ids = []
    for name, spans in zip(prompt.entities, prompt.spans):
        ids = spans_to_token_ids(offsets, spans)
        if not ids:
            raise PromptError(
                f'Entity {name!r} (spans {spans}) covers no token of the '
                f'caption {prompt.caption[:80]!r}.')
        token_ids.append(ids)
    return token_ids


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
    return prompts
