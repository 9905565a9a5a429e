"""Closed-set DyHead detectors: GLIP's visual tower without language.

The paper's few-shot baseline (DyHead-T, O365) is a detector of the task's
own classes: backbone -> FPN -> DyHead tower -> ATSS head with a classifier.
:class:`DyHeadATSS` is that detector built from mmdet's ``ATSSHead``
(assigner, losses, inference by registration) and GLIP's DyHead blocks
(:class:`~mmglip.models.necks.DyHeadNeck`). Its visual weights load from a
GLIP checkpoint without fusion (GLIP-T (A)): :func:`glip_to_closed_set`
maps them and accounts for every key (:class:`VisualWeightsReport`).
"""
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from mmdet.models.detectors import SingleStageDetector
from torch import Tensor

from mmglip.errors import UserError
from mmglip.registry import MODELS, TASK_UTILS
from ..task_modules import GLIPBoxCoder

#: Swin's buffers that are computed, not learnt
_DERIVED = re.compile(r'relative_position_index$')
#: GLIP (mmglip layout) key prefix -> closed-set key prefix, tried in order
GLIP_TO_CLOSED_SET = (
    (re.compile(r'^backbone\.'), 'backbone.'),
    (re.compile(r'^neck\.'), 'neck.'),
    (re.compile(r"^fusion_neck\.blocks\.(\d+)\.dyhead\."),
     r"dyhead.blocks.\1."),
    (re.compile(r'^bbox_head\.bbox_pred\.'), 'bbox_head.atss_reg.'),
    (re.compile(r'^bbox_head\.centerness\.'), 'bbox_head.atss_centerness.'),
    (re.compile(r'^bbox_head\.scales\.'), 'bbox_head.scales.'),
)
#: GLIP keys the closed-set detector has no place for, and why
UNUSED_GLIP_KEYS = (
    (re.compile(r'^language_model\.'),
     'the language model: a closed-set detector reads no text'),
    (re.compile(r'^bbox_head\.(dot_product_projection_text\.|log_scale|'
                r'bias_lang|bias0)'),
     'the region-token alignment: replaced by the classifier'),
    (re.compile(r'^prompt_embeddings\.'), 'prompt tuning\'s token offset'),
    (re.compile(r'^fusion_neck\.blocks\.\d+\.(cross_attn|text_layer)\.'),
     'the fusion layers (X-MHA, BERT layer)'),
)
#: model keys that start fresh, and why
FRESH_KEYS = (
    (re.compile(r'^bbox_head\.atss_cls\.'),
     'the classifier of the task\'s classes: GLIP scores regions against '
     'the prompt\'s tokens and has no class weights'),
    (_DERIVED, 'a buffer computed from the config, not a weight'),
)


def is_glip_state_dict(state_dict: Mapping) -> bool:
    """Whether ``state_dict`` is a GLIP model's (mmglip layout)."""
    return any(k.startswith(('fusion_neck.', 'language_model.'))
               for k in state_dict)


def glip_layout(state_dict: Mapping) -> Tuple[bool, int]:
    """``(fused, number of fusion / DyHead blocks)`` of a GLIP state dict,
    read off its keys."""
    blocks = {int(m.group(1)) for m in (
        re.match(r'fusion_neck\.blocks\.(\d+)\.', k) for k in state_dict)
        if m}
    fused = any(re.match(r'fusion_neck\.blocks\.\d+\.cross_attn\.', k)
                for k in state_dict)
    return fused, len(blocks)


def _reason(key: str, rules) -> Optional[str]:
    for pattern, reason in rules:
        if pattern.search(key):
            return reason
    return None


@dataclass
class VisualWeightsReport:
    """Where every key went: ``loaded`` (model key -> GLIP key), ``fresh``
    (model key -> why it starts from its initialisation), ``unused`` (GLIP
    key -> why the closed-set detector has no place for it)."""
    source: str
    loaded: Dict[str, str] = field(default_factory=dict)
    fresh: Dict[str, str] = field(default_factory=dict)
    unused: Dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        groups: Dict[str, int] = {}
        for key in self.loaded:
            part = key.split('.')[0]
            groups[part] = groups.get(part, 0) + 1
        lines = [f'{self.source}: {len(self.loaded)} visual weights loaded ('
                 + ', '.join(f'{k} {v}' for k, v in groups.items()) + ')']
        for title, keys in (('fresh', self.fresh), ('not used', self.unused)):
            by_reason: Dict[str, List[str]] = {}
            for key, reason in keys.items():
                by_reason.setdefault(reason, []).append(key)
            for reason, names in by_reason.items():
                shown = ', '.join(names[:4]) + (
                    f' and {len(names) - 4} more' if len(names) > 4 else '')
                lines.append(f'  {title} ({len(names)}): {shown} - {reason}')
        return '\n'.join(lines)


def glip_to_closed_set(model: 'DyHeadATSS', state_dict: Mapping,
                       source: str = 'the checkpoint'
                       ) -> Tuple[OrderedDict, VisualWeightsReport]:
    """A GLIP state dict (mmglip layout) -> ``model``'s visual weights and
    the report accounting for every key.

    Raises:
        UserError: GLIP weights of another variant (fusion, another number
            of blocks, other shapes: one line naming both), or a visual
            weight the file lacks.
    """
    fused, blocks = glip_layout(state_dict)
    want = len(model.dyhead.blocks)
    if fused or blocks != want:
        from mmglip.weights.official import describe_layout
        raise UserError(
            f'{source} holds GLIP weights with '
            f'{describe_layout(fused, blocks)} (another GLIP variant) but '
            f'{model.name} takes the visual tower of {model.weights_from} '
            f'({describe_layout(False, want)}): give {model.weights_from}\'s'
            ' weights, or none.')
    own = model.state_dict()
    report = VisualWeightsReport(source=source)
    mapped = OrderedDict()
    for key, value in state_dict.items():
        target = None
        for pattern, repl in GLIP_TO_CLOSED_SET:
            if pattern.match(key):
                target = pattern.sub(repl, key, count=1)
                break
        if target is None or target not in own:
            report.unused[key] = _reason(key, UNUSED_GLIP_KEYS) or \
                'no such weight in the closed-set detector'
            continue
        if tuple(own[target].shape) != tuple(value.shape):
            raise UserError(
                f'{source}: {key} is {tuple(value.shape)} but {model.name}\'s '
                f'{target} is {tuple(own[target].shape)}: these are weights '
                f'of another GLIP variant than {model.weights_from}; give '
                f'{model.weights_from}\'s weights, or none.')
        mapped[target] = value
        report.loaded[target] = key
    lacking = []
    for key in own:
        if key in mapped:
            continue
        reason = _reason(key, FRESH_KEYS)
        if reason is None:
            lacking.append(key)
        else:
            report.fresh[key] = reason
    if lacking:
        raise UserError(
            f'{source} lacks {len(lacking)} visual weights of {model.name} '
            f'(e.g. {lacking[0]}): it is not a whole {model.weights_from} '
            'checkpoint.')
    return mapped, report


@TASK_UTILS.register_module()
class ExclusiveGLIPBoxCoder(GLIPBoxCoder):
    """:class:`GLIPBoxCoder` whose decoded boxes are x2-exclusive, as mmdet's
    heads and losses take them (GLIP's box branch keeps its meaning)."""

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor,
               max_shape=None) -> Tensor:
        return self.to_exclusive(super().decode(bboxes, pred_bboxes,
                                                max_shape))


@MODELS.register_module()
class DyHeadATSS(SingleStageDetector):
    """backbone -> ``neck`` (FPN) -> ``dyhead`` (:class:`DyHeadNeck`) ->
    mmdet's ``ATSSHead`` (a classifier of ``num_classes``, sigmoid focal
    loss): a closed-set detector with GLIP's visual tower.

    Weights: a GLIP file of the variant named by ``weights_from`` (official
    or mmglip, e.g. ``load_from='mmglip://glip-t_a'``) loads its backbone,
    FPN, DyHead tower and box / centerness branches; the classifier starts
    fresh; the language side is not used. Official files are converted at
    the door (:mod:`mmglip.weights.schemes`); a load pre-hook maps the GLIP
    keys (:func:`glip_to_closed_set`) and logs where every key went; the
    detector's own checkpoints load as they are. GLIP weights with fusion
    or another number of blocks are refused (one line naming both).

    Args:
        dyhead: config of :class:`DyHeadNeck`.
        name: the model's name in messages (``dyhead-t``).
        weights_from: the GLIP variant whose visual weights it takes.
        tuning_mode: only ``full`` (:attr:`TUNING_MODES`): zero-shot and
            prompt tuning need a language model.
        Others as mmdet's single-stage detectors.
    """

    TUNING_MODES = ('full', )

    def __init__(self, backbone: dict, neck: dict, dyhead: dict,
                 bbox_head: dict, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 name: str = 'dyhead', weights_from: str = 'GLIP-T (A)',
                 tuning_mode: str = 'full', init_cfg=None):
        if tuning_mode not in self.TUNING_MODES:
            raise UserError(
                f'model.tuning_mode={tuning_mode!r}: {name} is a closed-set '
                f'detector without language; it supports '
                f'{", ".join(self.TUNING_MODES)} tuning only (no zero-shot, '
                'prompt tuning or linear probe).')
        with warnings.catch_warnings():
            # mmdet's ATSSHead reads its own deprecated num_anchors
            warnings.filterwarnings('ignore', '.*`num_anchors` is deprecated')
            super().__init__(backbone=backbone, neck=neck,
                             bbox_head=bbox_head, train_cfg=train_cfg,
                             test_cfg=test_cfg,
                             data_preprocessor=data_preprocessor,
                             init_cfg=init_cfg)
        self.dyhead = MODELS.build(dyhead)
        self.name = name
        self.weights_from = weights_from
        self.tuning_mode = tuning_mode
        self.visual_weights_report: Optional[VisualWeightsReport] = None
        self._register_load_state_dict_pre_hook(self._from_glip)

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        return self.dyhead(self.neck(self.backbone(batch_inputs)))

    def _from_glip(self, state_dict, prefix, local_metadata, strict,
                   missing_keys, unexpected_keys, error_msgs):
        """A GLIP state dict (mmglip layout: official files are converted
        at the door, :mod:`mmglip.weights.schemes`) handed to
        ``load_state_dict`` as it is (mmengine's ``load_from``) is replaced,
        in place, by its visual weights; the report is logged."""
        if prefix or not is_glip_state_dict(state_dict):
            return
        mapped, report = glip_to_closed_set(self, state_dict,
                                            'the GLIP checkpoint')
        state_dict.clear()
        state_dict.update(mapped)
        self.visual_weights_report = report
        from mmengine.logging import print_log
        print_log(str(report), logger='current')


def load_glip_weights(model: DyHeadATSS, source, key: str = 'model'
                      ) -> VisualWeightsReport:
    """Load a GLIP file's visual weights into ``model``: read (and convert
    official files) by :func:`mmglip.weights.load.state_dict_from`, mapped
    by :func:`glip_to_closed_set`; the classifier keeps its
    initialisation. ``source``: a file, a zoo name (``glip-t_a``) or a
    loaded checkpoint dict."""
    from mmglip.weights.load import state_dict_from
    state_dict, meta = state_dict_from(source, key)
    if not is_glip_state_dict(state_dict):
        raise UserError(f'{meta["label"]}: not a GLIP checkpoint (no '
                        'fusion_neck / language_model weights); '
                        f'{model.name} takes {model.weights_from}\'s.')
    mapped, report = glip_to_closed_set(model, state_dict, meta['label'])
    with torch.no_grad():
        missing, unexpected = model.load_state_dict(mapped, strict=False)
    assert not unexpected and set(missing) <= set(report.fresh), (
        missing, unexpected)
    model.visual_weights_report = report
    return report
