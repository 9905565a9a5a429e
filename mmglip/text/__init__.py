"""Prompt building and token positive maps (pure python, no torch)."""
from .positive_map import (build_class_prompts, count_tokens, name_warnings,
                           prompt_token_ids, spans_to_token_ids,
                           token_offsets)
from .prompts import (SEPARATOR, Prompt, PromptError, build_caption_prompt,
                      build_class_prompt, chunk_class_names, clean_name,
                      split_texts)

__all__ = [
    'SEPARATOR', 'Prompt', 'PromptError', 'build_caption_prompt',
    'build_class_prompt', 'build_class_prompts', 'chunk_class_names',
    'clean_name', 'count_tokens', 'name_warnings', 'prompt_token_ids', 'spans_to_token_ids',
    'split_texts', 'token_offsets'
]
