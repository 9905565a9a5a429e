"""Detection samples as grounding samples: a pipeline transform that turns
an image's class list into a sampled prompt (GLIP pretraining on detection
data), :class:`DetectionToGrounding`.

Why a transform and not a dataset: any detection dataset built with
``return_classes=True`` (mmglip's ODinWDataset, mmdet's CocoDataset, an
Objects365 COCO file) becomes grounding data by adding one pipeline step,
and each image gets its own prompt (its positives, sampled negatives), which
only a per-sample step can do.
"""
import warnings
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmglip.registry import TRANSFORMS
from mmglip.errors import UserError
from ..text.detection_prompt import (TokenCounter, check_sampling,
                                     detection_prompt, image_key, image_rng)
from ..text.prompts import PromptError

#: the per-box keys kept consistent when boxes are removed
BOX_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags', 'gt_masks')


class DetectionDataError(UserError, ValueError):
    """A sample DetectionToGrounding cannot turn into a prompt; the message
    names the image and what to change."""


class DroppedPositivesWarning(UserWarning):
    """Classes of an image (and their boxes) left out of its prompt because
    they do not all fit the language model."""


@TRANSFORMS.register_module()
class DetectionToGrounding(BaseTransform):
    """One image's class list -> a grounding prompt (positives + sampled
    negatives), as GLIP pretrains on detection data.

    The sampling is :func:`mmglip.text.detection_prompt.detection_prompt`
    (the official ``RANDOM_SAMPLE_NEG: 85`` and ``CONTROL_PROB``): every
    class of the image's boxes, up to ``num_negatives`` other classes, in a
    random order, never more than ``max_tokens`` tokens. The dataset's
    ``caption_prompt`` (per class prefix / name / suffix, e.g. an ODinW
    task's) is written into the caption around the drawn classes.

    Put it in a *train* pipeline after ``mmdet.LoadAnnotations`` (and
    ``mmdet.FilterAnnotations``, so that the prompt's positives are the
    boxes that remain) and before ``mmdet.PackDetInputs``, whose
    ``meta_keys`` must hold ``'text'``, ``'tokens_positive'`` and
    ``'caption_prompt'``. The model reads the result as a caption with
    spans (:func:`mmglip.text.build_prompts`): one prompt per image, which
    training needs.

    Required keys: ``text`` (the dataset's class names: build it with
    ``return_classes=True``), ``gt_bboxes``, ``gt_bboxes_labels``; optional
    ``gt_ignore_flags``, ``gt_masks``, ``caption_prompt``, and ``img_id`` /
    ``img_path`` (the seeded draw's key; named in messages).
    Modified keys: ``text`` (the caption string), ``gt_bboxes_labels`` (the
    index of each box's class among the prompt's entities), and the box
    keys (boxes of classes left out removed).
    Added keys: ``tokens_positive`` (per entity, its ``[start, end)``
    character spans), ``caption_prompt`` (None: it is in the caption).

    Args:
        tokenizer: the language model's tokenizer name (a hub name, a local
            directory, ``package://<package>/<subdir>``), as in the model's
            ``language_model.name``; loaded on first use (in each worker).
        max_tokens: the language model's ``max_tokens`` (256).
        num_negatives: at most this many negatives per image (GLIP: 85).
        full_negative_prob: probability of drawing all of them rather than
            a uniform count (GLIP: 0.5).
        seed: None draws from numpy's global RNG, which mmengine seeds per
            dataloader worker and rank: fresh negatives every epoch, but
            another worker count or world size draws other prompts. An int
            draws each image's prompt from ``(seed, a stable key of
            img_id / file name)``: the same prompt in a 1-process and a
            2-process run, whatever the workers, at the price of the same
            negatives for an image in every epoch.
    """

    def __init__(self,
                 tokenizer: str,
                 max_tokens: int = 256,
                 num_negatives: int = 85,
                 full_negative_prob: float = 0.5,
                 seed: Optional[int] = None) -> None:
        if not isinstance(tokenizer, str) or not tokenizer:
            raise PromptError(
                f'DetectionToGrounding: tokenizer={tokenizer!r}: give the '
                'language model\'s name (its language_model.name), e.g. '
                '"bert-base-uncased".')
        check_sampling(max_tokens, num_negatives, full_negative_prob)
        if seed is not None and (isinstance(seed, bool) or
                                 not isinstance(seed, int) or seed < 0):
            raise PromptError(f'DetectionToGrounding: seed={seed!r}: give '
                              'an int >= 0, or None.')
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.num_negatives = num_negatives
        self.full_negative_prob = full_negative_prob
        self.seed = seed
        self._counter: Optional[TokenCounter] = None
        #: images (and boxes) whose positives did not all fit, this process
        self.dropped_images = 0
        self.dropped_boxes = 0

    @property
    def counter(self) -> TokenCounter:
        """The tokenizer's cached counts (the tokenizer loaded on first
        use, so that building a dataset does not load it)."""
        if self._counter is None:
            from mmglip.models.language import load_tokenizer
            self._counter = TokenCounter(load_tokenizer(self.tokenizer))
        return self._counter

    def transform(self, results: dict) -> dict:
        where = results.get('img_path', results.get('img_id', '<image>'))
        classes = self._class_names(results, where)
        labels = results.get('gt_bboxes_labels')
        if labels is None or 'gt_bboxes' not in results:
            raise DetectionDataError(
                f'DetectionToGrounding: {where} has no gt_bboxes / '
                'gt_bboxes_labels: put it after mmdet.LoadAnnotations('
                'with_bbox=True) in the pipeline.')
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(labels) == 0:
            raise DetectionDataError(
                f'DetectionToGrounding: {where} has no boxes left, so it has '
                'no positive class for a prompt: set filter_cfg=dict('
                'filter_empty_gt=True) on the dataset (and keep '
                'mmdet.FilterAnnotations\' keep_empty=True).')
        if self.seed is None:
            rng = image_rng(None, 0)
        else:
            rng = image_rng(self.seed, image_key(results.get('img_id'),
                                                 results.get('img_path')))
        try:
            drawn = detection_prompt(
                classes, labels, rng, self.counter, self.max_tokens,
                self.num_negatives, self.full_negative_prob,
                results.get('caption_prompt'))
        except PromptError as exc:
            raise PromptError(f'DetectionToGrounding: {where}: {exc}') \
                from exc
        if drawn.dropped:
            keep = np.isin(labels, list(drawn.label_to_entity))
            for key in BOX_KEYS:
                if key in results and results[key] is not None:
                    results[key] = results[key][keep]
            labels = labels[keep]
            self._warn_dropped(where, classes, drawn.dropped,
                               int((~keep).sum()))
        results['gt_bboxes_labels'] = np.array(
            [drawn.label_to_entity[int(c)] for c in labels], dtype=np.int64)
        results['text'] = drawn.prompt.caption
        results['tokens_positive'] = drawn.prompt.spans
        results['caption_prompt'] = None
        return results

    @staticmethod
    def _class_names(results: dict, where) -> tuple:
        text = results.get('text')
        if text is None:
            raise DetectionDataError(
                f'DetectionToGrounding: {where} has no "text" (the class '
                'names): build the dataset with return_classes=True.')
        if isinstance(text, str):
            raise DetectionDataError(
                f'DetectionToGrounding: the "text" of {where} is a caption '
                f'({text[:60]!r}), not class names: the transform is for '
                'detection data (return_classes=True); leave it out of '
                'grounding datasets\' pipelines (they carry their own '
                'caption and tokens_positive).')
        return tuple(text)

    def _warn_dropped(self, where, classes, dropped, boxes: int) -> None:
        """Count, and warn at the 1st, 2nd, 4th, 8th... image, so that a
        dataset of long names cannot flood the log yet stays visible."""
        self.dropped_images += 1
        self.dropped_boxes += boxes
        n = self.dropped_images
        if n & (n - 1):
            return
        names = ', '.join(repr(classes[c]) for c in dropped[:5])
        more = f' and {len(dropped) - 5} more' if len(dropped) > 5 else ''
        warnings.warn(
            f'DetectionToGrounding: {where}: classes {names}{more} do not '
            f'fit in max_tokens={self.max_tokens} with the image\'s other '
            f'classes; their {boxes} box(es) are left out ({n} image(s), '
            f'{self.dropped_boxes} box(es) so far in this process). Use '
            'fewer / shorter class names or a larger max_tokens.',
            DroppedPositivesWarning, stacklevel=2)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tokenizer={self.tokenizer!r}, '
                f'max_tokens={self.max_tokens}, num_negatives='
                f'{self.num_negatives}, full_negative_prob='
                f'{self.full_negative_prob}, seed={self.seed!r})')
