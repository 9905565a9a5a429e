"""Vision-language ATSS head: region-token alignment, boxes, centerness."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import Scale
from mmdet.models.dense_heads import ATSSHead
from mmdet.models.utils import multi_apply
from mmdet.utils import reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmglip.registry import MODELS
from mmglip.text import PromptError
from ..language.features import LanguageFeatures
from ..layers import MAX_CLAMP_VALUE


def token_sigmoid_focal_loss(logits: Tensor, targets: Tensor,
                             token_mask: Tensor, alpha: float = 0.25,
                             gamma: float = 2.0) -> Tensor:
    """Sum of the binary focal loss over real (non-padding) tokens.

    Args:
        logits: [B, A, L] alignment logits.
        targets: [B, A, L], 1 where the anchor's object covers the token.
        token_mask: [B, L], 1 for real tokens.
    """
    keep = token_mask[:, None, :].expand_as(logits) > 0
    logits, targets = logits[keep], targets[keep].to(logits.dtype)
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = prob * targets + (1 - prob) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * ce * (1 - p_t)**gamma).sum()


def _fp32(*per_level: Sequence[Tensor]) -> Tuple[List[Tensor], ...]:
    """Head outputs in fp32 for decoding, losses and NMS (a no-op for fp32
    tensors). Under autocast the 1x1 convs give fp16 / bf16 deltas; decoding
    would cast the anchors to that dtype (fp16 steps are 0.5 px above 512,
    bf16 8 px above 1024) and mmcv's NMS takes fp32 only."""
    return tuple([t.float() for t in tensors] for tensors in per_level)


def tokens_to_class_scores(token_probs: Tensor,
                           class_token_ids: Sequence[Sequence[int]]
                           ) -> Tensor:
    """[A, L] token probabilities -> [A, C] class scores, each the mean
    over the class's tokens (official GLIP inference)."""
    return torch.stack(
        [token_probs[:, list(ids)].mean(-1) for ids in class_token_ids],
        dim=1)


def per_anchor(maps: Sequence[Tensor], width: int = 1) -> List[Tensor]:
    """Per level, a map [B, A * width, H, W] -> [B, H*W*A, width] ([B,
    H*W*A] for width 1): one row per anchor in mmdet's order (position by
    position, the anchors of a position together), the rows of the
    alignment logits."""
    out = []
    for level in maps:
        flat = level.permute(0, 2, 3, 1).reshape(level.shape[0], -1, width)
        out.append(flat.squeeze(-1) if width == 1 else flat)
    return out


@MODELS.register_module()
class VLATSSHead(ATSSHead):
    """GLIP's head on the fused pyramid.

    Per level: box deltas and centerness from 1x1 convs; alignment logits
    ``<region, proj(token)> / exp(log_scale) + (token . bias_lang + bias0)``
    with tokens L2-normalised (and halved before the projection). Training
    assigns anchors with ATSS and scores every (anchor, token) pair with a
    sigmoid focal loss; boxes get GIoU weighted by centerness, centerness a
    BCE. Boxes follow the official "+1" pixel convention of
    :class:`~mmglip.models.task_modules.GLIPBoxCoder` (its ``decode`` and
    ``to_exclusive``).

    mmdet's dense-head contract with language features, as mmdet's
    ``ATSSVLFusionHead``: ``forward(x, lang)``, ``loss(x, lang,
    batch_data_samples)``, ``predict(x, lang, batch_data_samples,
    rescale)``. ``lang`` is a
    :class:`~mmglip.models.language.LanguageFeatures`; the head reads

    * ``tokens``: [B, L, lang_dim], the token features the fusion neck
      hands on (fused, or the padding-zeroed BERT output without fusion);
    * ``masks``: [B, L], 1 for real tokens, 0 for padding (loss);
    * ``token_ids``: per sample, per entity (class / phrase) of its prompt,
      the entity's token indices. A gt label indexes the entities; a
      predicted label too.

    There is no class classifier: the classes are the prompt's entities, so
    mmdet's ``num_classes`` is fixed to 1 (unused).

    Args:
        lang_dim: token width; the detector sets it from its language model.
        feat_channels: region feature width (256).
        token_loss: dict(alpha, gamma, loss_weight) of the token focal loss.
        Others as mmdet's ``ATSSHead`` (anchor_generator, bbox_coder,
        loss_bbox, loss_centerness, train_cfg with the ATSS assigner,
        test_cfg).
    """

    def __init__(self, lang_dim: int = 768,
                 token_loss: Optional[dict] = None, num_levels: int = 5,
                 init_cfg=None, **kwargs):
        self.lang_dim = lang_dim
        self.num_levels = num_levels
        self.token_loss = {
            **dict(alpha=0.25, gamma=2.0, loss_weight=1.0),
            **(token_loss or {})
        }
        super().__init__(num_classes=1, init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        a = self.num_base_priors
        self.bbox_pred = nn.Conv2d(self.feat_channels, a * 4, 1)
        self.centerness = nn.Conv2d(self.feat_channels, a, 1)
        self.scales = nn.ModuleList(
            [Scale(1.0) for _ in range(self.num_levels)])
        self.dot_product_projection_text = nn.Linear(
            self.lang_dim, a * self.feat_channels)
        self.log_scale = nn.Parameter(torch.zeros(1))
        self.bias_lang = nn.Parameter(torch.zeros(self.lang_dim))
        # prior probability 0.01 for every (anchor, token) pair
        self.bias0 = nn.Parameter(
            torch.tensor([-math.log((1 - 0.01) / 0.01)]))

    def init_weights(self) -> None:
        # the official head leaves the conv / linear defaults except these
        for conv in (self.bbox_pred, self.centerness):
            nn.init.normal_(conv.weight, 0, 0.01)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Sequence[Tensor], lang: LanguageFeatures
                ) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
        """
        Args:
            x: fused levels, each [B, C, Hi, Wi].
            lang: the language features (only ``tokens`` is read).

        Returns:
            per level (mmdet's ATSS order): alignment logits
            [B, Hi*Wi*A, L], box deltas [B, 4A, Hi, Wi] and centerness
            [B, A, Hi, Wi].
        """
        visual = self.forward_visual(x)
        return (self.forward_align(visual['regions'], lang.tokens),
                visual['bbox_preds'], visual['centerness'])

    def forward_visual(self, x: Sequence[Tensor]) -> Dict[str, List[Tensor]]:
        """The text-independent part of :meth:`forward`: per level
        ``bbox_preds``, ``centerness`` and the ``regions`` [B, Hi*Wi, C]
        that :meth:`forward_align` scores against tokens (computed once for
        all chunks of a prompt when the levels do not depend on the text)."""
        bbox_preds, centerness, regions = [], [], []
        for level, feat in enumerate(x):
            b, c, h, w = feat.shape
            bbox_preds.append(self.scales[level](self.bbox_pred(feat)))
            centerness.append(self.centerness(feat))
            # (B, C, H, W) -> (B, H*W, C)
            regions.append(feat.view(b, -1, c, h, w).permute(
                0, 3, 4, 1, 2).reshape(b, -1, c))
        return dict(bbox_preds=bbox_preds, centerness=centerness,
                    regions=regions)

    def forward_align(self, regions: Sequence[Tensor],
                      tokens: Tensor) -> List[Tensor]:
        """Per level alignment logits [B, Hi*Wi*A, L] of ``regions`` (from
        :meth:`forward_visual`) and ``tokens`` [B, L, lang_dim]."""
        tokens = F.normalize(tokens, p=2, dim=-1)
        proj_tokens = self.dot_product_projection_text(tokens / 2.0)
        token_bias = torch.matmul(tokens, self.bias_lang) + self.bias0
        scale = self.log_scale.exp()
        logits = []
        for level_regions in regions:
            logit = torch.matmul(level_regions, proj_tokens.transpose(
                -1, -2)) / scale + token_bias.unsqueeze(1)
            logits.append(
                logit.clamp(max=MAX_CLAMP_VALUE).clamp(min=-MAX_CLAMP_VALUE))
        return logits

    # ------------------------------------------------------------------ loss
    def loss(self, x: Sequence[Tensor], lang: LanguageFeatures,
             batch_data_samples: List) -> Dict[str, Tensor]:
        """Losses of a batch: each sample's ``gt_instances`` (``bboxes``,
        ``labels`` indexing its prompt's entities) against ``lang``."""
        gts = self.token_targets(lang, batch_data_samples)
        logits, bbox_preds, centerness = self(x, lang)
        return self.loss_by_feat(
            logits, bbox_preds, centerness, gts,
            [s.metainfo for s in batch_data_samples],
            token_mask=lang.masks)

    @staticmethod
    def token_targets(lang: LanguageFeatures, batch_data_samples: List
                      ) -> List[InstanceData]:
        """Per sample, its gt ``bboxes`` (a tensor) and ``pos_tokens``
        ([num_gt, L] binary: the tokens of each box's entity, from
        ``lang.token_ids``)."""
        num_tokens = lang.num_tokens
        gts = []
        for sample, ids in zip(batch_data_samples, lang.token_ids):
            gt = sample.gt_instances
            bboxes = gt.bboxes if isinstance(gt.bboxes, Tensor) else \
                gt.bboxes.tensor
            pos = bboxes.new_zeros((len(ids), num_tokens))
            for entity, entity_ids in enumerate(ids):
                pos[entity, entity_ids] = 1
            labels = gt.labels.long()
            if len(labels) and labels.max() >= len(ids):
                raise PromptError(
                    f'{sample.metainfo.get("img_path")}: gt label '
                    f'{int(labels.max())} but the prompt has only '
                    f'{len(ids)} entities.')
            gts.append(InstanceData(bboxes=bboxes, pos_tokens=pos[labels]))
        return gts

    def loss_by_feat(self, logits: List[Tensor], bbox_preds: List[Tensor],
                     centerness: List[Tensor],
                     batch_gt_instances: List[InstanceData],
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore=None, *,
                     token_mask: Tensor) -> Dict[str, Tensor]:
        """Losses from the head outputs. Each gt instance carries ``bboxes``
        and ``pos_tokens`` (:meth:`token_targets`); ``token_mask`` [B, L]
        leaves padding tokens out. No ignored boxes in GLIP."""
        bbox_preds, centerness, logits = _fp32(bbox_preds, centerness, logits)
        device = logits[0].device
        featmap_sizes = [p.shape[-2:] for p in bbox_preds]
        anchors = self.prior_generator.grid_priors(featmap_sizes,
                                                   device=device)
        num_level = [len(a) for a in anchors]
        flat_anchors = torch.cat(anchors)
        b = len(batch_img_metas)
        bbox_flat = torch.cat(per_anchor(bbox_preds, 4), 1)
        ctr_flat = torch.cat(per_anchor(centerness), 1)
        logit_flat = torch.cat(logits, dim=1)

        token_targets, box_targets, pos_masks = multi_apply(
            self._targets_single, batch_gt_instances,
            [flat_anchors] * b, [num_level] * b,
            [logit_flat.shape[-1]] * b)
        token_targets = torch.stack(token_targets)
        pos_mask = torch.stack(pos_masks)

        num_pos = reduce_mean(pos_mask.sum().float()).clamp(min=1.0).item()
        loss_tok = token_sigmoid_focal_loss(
            logit_flat, token_targets, token_mask,
            self.token_loss['alpha'], self.token_loss['gamma']) / num_pos
        loss_tok = loss_tok * self.token_loss['loss_weight']

        pos_anchors = flat_anchors[None].expand(b, -1, -1)[pos_mask]
        pos_deltas = bbox_flat[pos_mask]
        pos_ctr = ctr_flat[pos_mask]
        if pos_anchors.numel() > 0:
            gt_boxes = torch.cat(box_targets)
            ctr_targets = self.centerness_target(pos_anchors, gt_boxes)
            # gt boxes are x2-exclusive: so are the decoded ones for GIoU
            pred_boxes = self.bbox_coder.to_exclusive(
                self.bbox_coder.decode(pos_anchors, pos_deltas))
            ctr_sum = reduce_mean(ctr_targets.sum()).clamp(min=1e-6).item()
            loss_bbox = self.loss_bbox(
                pred_boxes, gt_boxes, weight=ctr_targets,
                avg_factor=ctr_sum)
            loss_ctr = self.loss_centerness(
                pos_ctr, ctr_targets, avg_factor=num_pos)
        else:
            loss_bbox = bbox_flat.sum() * 0
            loss_ctr = ctr_flat.sum() * 0
        return dict(loss_cls=loss_tok, loss_bbox=loss_bbox,
                    loss_centerness=loss_ctr)

    def _targets_single(self, gt: InstanceData, flat_anchors: Tensor,
                        num_level: List[int], num_tokens: int):
        """ATSS assignment for one image -> per-anchor token targets
        [A, L], the matched gt boxes of positives [P, 4], positives [A]."""
        num_anchors = flat_anchors.shape[0]
        token_targets = flat_anchors.new_zeros((num_anchors, num_tokens))
        if len(gt) == 0:
            return (token_targets, flat_anchors.new_zeros((0, 4)),
                    torch.zeros(num_anchors, dtype=torch.bool,
                                device=flat_anchors.device))
        gt_for_assign = InstanceData(
            bboxes=gt.bboxes,
            labels=torch.arange(len(gt), device=flat_anchors.device))
        result = self.assigner.assign(
            InstanceData(priors=flat_anchors), num_level, gt_for_assign)
        pos = result.gt_inds > 0
        matched = result.gt_inds[pos] - 1
        token_targets[pos] = gt.pos_tokens[matched].to(token_targets.dtype)
        return token_targets, gt.bboxes[matched], pos

    # ------------------------------------------------------------- inference
    def predict(self, x: Sequence[Tensor], lang: LanguageFeatures,
                batch_data_samples: List, rescale: bool = True
                ) -> List[InstanceData]:
        """Detections per image; labels index the entities of its prompt
        (``lang.token_ids``), boxes are x2-exclusive."""
        logits, bbox_preds, centerness = self(x, lang)
        return self.predict_by_feat(
            logits, bbox_preds, centerness,
            [s.metainfo for s in batch_data_samples], rescale=rescale,
            token_ids=lang.token_ids)

    def predict_by_feat(self, logits: List[Tensor], bbox_preds: List[Tensor],
                        centerness: List[Tensor], batch_img_metas: List[dict],
                        rescale: bool = True, *,
                        token_ids: List[List[List[int]]]
                        ) -> List[InstanceData]:
        """Detections from the head outputs; ``token_ids``: per image, per
        entity, its token indices (an entity scores the mean of its tokens'
        probabilities)."""
        bbox_preds, centerness, logits = _fp32(bbox_preds, centerness, logits)
        featmap_sizes = [p.shape[-2:] for p in bbox_preds]
        anchors = self.prior_generator.grid_priors(
            featmap_sizes, device=logits[0].device)
        deltas = per_anchor(bbox_preds, 4)  # as the logits' rows
        ctrs = per_anchor(centerness)
        return [
            self._predict_single([d[i] for d in deltas], [c[i] for c in ctrs],
                                 [lg[i] for lg in logits], anchors,
                                 token_ids[i], meta, rescale)
            for i, meta in enumerate(batch_img_metas)
        ]

    def _predict_single(self, deltas, centerness, logits, anchors,
                        class_token_ids, img_meta, rescale):
        """One image: per level the ``nms_pre`` best (anchor, class) scores
        above ``score_thr`` (a top-k, no host sync per level), then one
        filter, decoding and NMS for all levels."""
        cfg = self.test_cfg
        score_thr = cfg.get('score_thr', 0.05)
        nms_pre = cfg.get('nms_pre', 1000)
        weights, counts = class_token_matrix(
            class_token_ids, logits[0].shape[-1], logits[0].device)
        num_classes = weights.shape[1]
        top_scores, top_rows, labels = [], [], []
        start = 0
        for logit in logits:
            # [A, C]: the mean of each class's token probabilities
            scores = torch.matmul(logit.sigmoid(), weights) / counts
            flat = scores.reshape(-1)
            k = flat.numel() if nms_pre is None or nms_pre <= 0 else min(
                nms_pre, flat.numel())
            top, index = flat.topk(k)
            top_scores.append(top)
            top_rows.append(index // num_classes + start)
            labels.append(index % num_classes)
            start += logit.shape[0]
        scores = torch.cat(top_scores)
        keep = scores > score_thr  # the one host sync (boolean indexing)
        scores, rows = scores[keep], torch.cat(top_rows)[keep]
        labels = torch.cat(labels)[keep]
        ctr = torch.cat(centerness).sigmoid()[rows]
        boxes = self.bbox_coder.decode(
            torch.cat(anchors)[rows], torch.cat(deltas)[rows],
            max_shape=img_meta['img_shape'])
        results = InstanceData(bboxes=boxes, scores=torch.sqrt(scores * ctr),
                               labels=labels)
        results = self._bbox_post_process(
            results, cfg, rescale=rescale, with_nms=True, img_meta=img_meta)
        # inclusive -> x2-exclusive after rescaling (official json export)
        results.bboxes = self.bbox_coder.to_exclusive(results.bboxes)
        return results


def class_token_matrix(class_token_ids: Sequence[Sequence[int]],
                       num_tokens: int, device) -> Tuple[Tensor, Tensor]:
    """[L, C] 0/1 matrix of each class's tokens and [C] token counts: token
    probabilities [A, L] @ matrix / counts are the class scores of
    :func:`tokens_to_class_scores` in one matmul (the same sums)."""
    rows = [t for ids in class_token_ids for t in ids]
    cols = [c for c, ids in enumerate(class_token_ids) for _ in ids]
    weights = torch.zeros(num_tokens, len(class_token_ids))
    weights[rows, cols] = 1.0
    counts = torch.tensor([float(len(ids)) for ids in class_token_ids])
    return weights.to(device), counts.to(device)
