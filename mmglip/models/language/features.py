"""The language side of GLIP's contract: what the language model gives and
the detector, the fusion neck and the head read."""
import dataclasses
from typing import List, Optional

from torch import Tensor

#: per prompt, per entity (class / phrase) of the prompt, its token indices
TokenIds = List[List[List[int]]]


@dataclasses.dataclass(frozen=True)
class LanguageFeatures:
    """Token features of a batch of ``B`` prompts of ``L`` tokens (the
    longest caption's count, or ``max_tokens`` where the language model pads
    to it), ``C`` = the language model's ``language_dim``.

    Attributes:
        masks: [B, L], 1 for real tokens, 0 for padding.
        hidden: [B, L, C], the last layer's features: what the fusion
            neck's X-MHA and BERT layers take.
        embedded: [B, L, C], the mean of the last ``num_layers`` layers
            with padding zeroed: the head's tokens without fusion.
        input_ids: [B, L], the tokenizer's ids.
        token_ids: per prompt, per entity, its token indices (the detector
            attaches them; a gt or predicted label indexes the entities).
        tokens: [B, L, C], the tokens the head aligns regions with, as the
            fusion neck hands them on (fused with deep fusion, else
            ``embedded``); set by the detector after the neck.

    Frozen: a step that changes features makes new ones (:meth:`replace`),
    so the language model's cache is never changed in place.
    """
    masks: Tensor
    hidden: Optional[Tensor] = None
    embedded: Optional[Tensor] = None
    input_ids: Optional[Tensor] = None
    token_ids: Optional[TokenIds] = None
    tokens: Optional[Tensor] = None

    def replace(self, **changes) -> 'LanguageFeatures':
        """A copy with ``changes`` (field=value) made."""
        return dataclasses.replace(self, **changes)

    def select(self, start: int, end: int,
               length: Optional[int] = None) -> 'LanguageFeatures':
        """Prompts ``start:end``, their tokens cut to the first ``length``
        (all by default)."""
        def cut(value):
            if isinstance(value, Tensor):
                return value[start:end, :length]
            return None if value is None else value[start:end]

        return LanguageFeatures(**{
            f.name: cut(getattr(self, f.name))
            for f in dataclasses.fields(self)
        })

    @property
    def num_tokens(self) -> int:
        """``L``."""
        return self.masks.shape[1]


__all__ = ['LanguageFeatures', 'TokenIds']
