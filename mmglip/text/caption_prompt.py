"""Per-dataset prompt options: caption prompts and class name overrides.

Both are given against the class names of the annotation file (the config's
``metainfo.classes``):

* ``caption_prompt``: words around (or instead of) a class name in the
  prompt, as the ODinW-35 configs use them. Either a dict keyed by class
  name (mmdet's form: ``{'penguin': {'suffix': ', which is black and
  white'}}``) or a list with one dict per class, in class order. Each dict
  may hold ``prefix``, ``name`` (shown instead of the class name; its span is
  the positive one) and ``suffix``. mmglip's GLIP reads the list form from
  ``data_sample.metainfo['caption_prompt']``.
* ``class_overrides``: ``{file name: prompt name}``, e.g.
  ``{'Cottontail-Rabbit': 'rabbit'}`` (paper Table 10). Only the prompt
  (``text``) changes; labels, the dataset's ``classes`` and the evaluation
  keep the file's names and ids.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

PROMPT_KEYS = ('prefix', 'name', 'suffix')


def _plain(obj):
    """ConfigDict / tuples -> plain dicts / lists."""
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def normalize_caption_prompt(caption_prompt, classes: Sequence[str]
                             ) -> Optional[List[Dict[str, str]]]:
    """``caption_prompt`` (dict by class name or list in class order) as a
    list of one ``{prefix, name, suffix}`` dict per class, or ``None``.

    Raises:
        ValueError: naming the unknown class, the entry or the key at fault.
    """
    if caption_prompt is None:
        return None
    classes = list(classes)
    caption_prompt = _plain(caption_prompt)
    if isinstance(caption_prompt, dict):
        unknown = [k for k in caption_prompt if k not in classes]
        if unknown:
            raise ValueError(
                f'caption_prompt has entries for {unknown}, which are not '
                f'among the classes {classes}; key it by the annotation '
                'file\'s class names.')
        entries = [caption_prompt.get(c) or {} for c in classes]
    elif isinstance(caption_prompt, list):
        if len(caption_prompt) != len(classes):
            raise ValueError(
                f'caption_prompt has {len(caption_prompt)} entries but there '
                f'are {len(classes)} classes {classes}: give one dict per '
                'class in class order, or a dict keyed by class name.')
        entries = [e or {} for e in caption_prompt]
    else:
        raise ValueError(
            'caption_prompt must be a dict keyed by class name or a list of '
            f'per-class dicts, not {type(caption_prompt).__name__}.')
    out = []
    for cls, entry in zip(classes, entries):
        if not isinstance(entry, dict):
            raise ValueError(
                f'caption_prompt entry of class {cls!r} is {entry!r}; give a '
                f'dict with keys {PROMPT_KEYS}.')
        bad = [k for k in entry if k not in PROMPT_KEYS]
        if bad:
            raise ValueError(
                f'caption_prompt entry of class {cls!r} has the key(s) {bad}; '
                f'only {PROMPT_KEYS} are allowed.')
        for k, v in entry.items():
            if not isinstance(v, str):
                raise ValueError(f'caption_prompt[{cls!r}][{k!r}] = {v!r} is '
                                 'not a string.')
        if 'name' in entry and not entry['name'].strip():
            raise ValueError(f'caption_prompt entry of class {cls!r} has an '
                             'empty name.')
        out.append({k: entry[k] for k in PROMPT_KEYS if k in entry})
    return out


def apply_class_overrides(classes: Sequence[str],
                          class_overrides: Optional[Mapping[str, str]]
                          ) -> Tuple[str, ...]:
    """The class names shown in the prompt after ``class_overrides``."""
    classes = tuple(classes)
    if not class_overrides:
        return classes
    class_overrides = _plain(class_overrides)
    if not isinstance(class_overrides, dict):
        raise ValueError('class_overrides must be a dict {annotation class '
                         f'name: prompt name}}, not {class_overrides!r}.')
    unknown = [k for k in class_overrides if k not in classes]
    if unknown:
        raise ValueError(
            f'class_overrides renames {unknown}, which are not among the '
            f'classes {list(classes)}; key it by the annotation file\'s '
            'class names.')
    for k, v in class_overrides.items():
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f'class_overrides[{k!r}] = {v!r} must be a '
                             'non-empty string.')
    return tuple(class_overrides.get(c, c) for c in classes)
