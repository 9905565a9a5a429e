"""Character spans -> token indices (the positive map of each entity).

Works with any HF *fast* tokenizer (``tokenizer(text,
return_offsets_mapping=True)``), the API that is stable across transformers
4.x and 5.x. No torch here: positive maps are lists of token indices; the
model turns them into tensors.
"""
from typing import List, Optional, Sequence

from .prompts import Prompt, PromptError


def token_offsets(tokenizer, caption: str) -> List[List[int]]:
    """``[start, end)`` character offsets of each token of ``caption``,
    special tokens included (as ``[0, 0]``), without padding.

    Captions longer than the model reads are measured here on purpose (to
    be chunked or cut), so the tokenizer's "sequence length is longer than
    the specified maximum ... indexing errors" warning is turned off
    (``verbose=False``); what is done about the length is said by the
    caller (:func:`mmglip.text.build_class_prompts`: the chunks).
    """
    enc = tokenizer(caption, return_offsets_mapping=True,
                    add_special_tokens=True, verbose=False)
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
            out.append(f'{name!r} is only unknown tokens '
                       f'({tokenizer.unk_token}) to the language model: it '
                       'cannot be told apart from other such names; write '
                       'it in words the vocabulary has')
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
