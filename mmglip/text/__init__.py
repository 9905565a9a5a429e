"""Everything about the text a GLIP model reads (pure python, no torch):
the user's texts -> names, class lists -> captions that fit (chunked),
captions with spans, caption prompts / class overrides of datasets, and
character spans -> token positive maps."""
from .caption_prompt import apply_class_overrides, normalize_caption_prompt
from .chunking import build_class_prompts, build_prompts, chunk_class_names
from .detection_prompt import DetectionPrompt, detection_prompt
from .positive_map import (count_tokens, name_warnings, prompt_token_ids,
                           spans_to_token_ids, token_offsets)
from .prompts import (SEPARATOR, Prompt, PromptError, build_caption_prompt,
                      build_class_prompt, clean_name, prompt_names,
                      split_texts)

__all__ = [
    'SEPARATOR', 'Prompt', 'PromptError', 'apply_class_overrides',
    'build_caption_prompt', 'build_class_prompt', 'build_class_prompts',
    'build_prompts', 'chunk_class_names', 'DetectionPrompt',
    'detection_prompt', 'clean_name', 'count_tokens',
    'name_warnings', 'normalize_caption_prompt', 'prompt_names',
    'prompt_token_ids', 'spans_to_token_ids', 'split_texts', 'token_offsets'
]
