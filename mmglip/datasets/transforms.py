"""Pipeline transforms of mmglip's datasets, and a config's test pipeline
as inference and export run it (:func:`test_pipeline`)."""
from typing import Dict, Optional

from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine.config import Config
from mmengine.dataset import Compose

from mmglip.registry import TRANSFORMS
from mmglip.utils.images import decode_failure
from ..text import apply_class_overrides, normalize_caption_prompt


def test_pipeline(cfg: Config, from_array: bool = False) -> Compose:
    """The config's test pipeline without annotation loading; with
    ``from_array`` it starts from ``results['img']`` (an array) instead of
    reading ``img_path``."""
    steps = [
        dict(t) for t in cfg.test_dataloader.dataset.pipeline
        if 'LoadAnnotations' not in t['type']
    ]
    if from_array:
        if 'LoadImage' not in steps[0]['type']:
            raise ValueError('The test pipeline does not start by loading '
                             f'an image ({steps[0]["type"]}): cannot feed '
                             'it arrays.')
        steps[0] = dict(type='mmdet.LoadImageFromNDArray')
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmglip'))
    return Compose(steps)


@TRANSFORMS.register_module()
class LoadImageChecked(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (same arguments), whose failures name
    the file.

    The decoders' own messages do not say which image failed ("image file
    is truncated", "cannot identify image file <_io.BytesIO ...>"), so an
    evaluation over thousands of images dies without a hint. Any failure to
    read or decode ``results['img_path']`` is raised as
    :class:`~mmglip.utils.images.ImageError` naming it (unless
    ``ignore_empty=True``, which returns None as mmcv does).
    """

    def transform(self, results: dict) -> Optional[dict]:
        try:
            out = super().transform(results)
        except Exception as exc:  # noqa: BLE001 (named and re-raised)
            raise decode_failure(results.get('img_path'), exc) from exc
        if out is None and not self.ignore_empty:
            raise decode_failure(results.get('img_path'),
                                 ValueError('the decoder returned nothing'))
        return out


@TRANSFORMS.register_module()
class AddCaptionPrompt(BaseTransform):
    """Add a caption prompt and class renames to samples of any dataset.

    For datasets other than :class:`~mmglip.datasets.ODinWDataset` (e.g.
    ``mmdet.CocoDataset`` with ``return_classes=True``): put it before
    ``PackDetInputs`` (whose ``meta_keys`` hold ``'text'`` and
    ``'caption_prompt'``).

    Required keys: ``text`` (the class names, from ``return_classes=True``).
    Modified keys: ``text`` (when ``class_overrides`` are given).
    Added keys: ``caption_prompt`` (one prefix/name/suffix dict per class).

    Args:
        caption_prompt (dict | list, optional): keyed by class name, or one
            dict per class in class order.
        class_overrides (dict, optional): ``{class name: prompt name}``.
    """

    def __init__(self,
                 caption_prompt=None,
                 class_overrides: Optional[Dict[str, str]] = None) -> None:
        self.caption_prompt = caption_prompt
        self.class_overrides = class_overrides
        self._cache = {}

    def transform(self, results: dict) -> dict:
        text = results.get('text')
        if text is None or isinstance(text, str):
            raise KeyError(
                'AddCaptionPrompt needs the class names in results["text"]: '
                'build the dataset with return_classes=True (a free caption '
                'cannot take a per-class caption prompt).')
        classes = tuple(text)
        if classes not in self._cache:
            self._cache[classes] = (
                normalize_caption_prompt(self.caption_prompt, classes),
                apply_class_overrides(classes, self.class_overrides))
        caption_prompt, names = self._cache[classes]
        results['caption_prompt'] = [dict(e) for e in caption_prompt] \
            if caption_prompt is not None else None
        results['text'] = names
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(caption_prompt='
                f'{self.caption_prompt!r}, class_overrides='
                f'{self.class_overrides!r})')
