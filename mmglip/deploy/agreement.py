"""How closely two backends' detections agree (the numbers the export's
self-check, the tests and the maintainer's table report)."""
from dataclasses import dataclass

import torch

#: the issue's bar for ONNX Runtime fp32 against PyTorch
SCORE_TOL = 1e-4
BOX_TOL = 0.01


@dataclass
class Agreement:
    """Top-``k`` detections of a reference and a candidate: how many there
    are, whether each reference detection has its counterpart (the same
    label, the score within ``score_tol``, the box within ``box_tol``) at
    its rank or, among near-tied scores, at a rank of its tie, and the
    largest score and box-coordinate differences of the pairs."""
    top: int
    count_ref: int
    count: int
    labels_same: bool
    max_score_diff: float
    max_box_diff: float
    score_tol: float = SCORE_TOL
    box_tol: float = BOX_TOL

    def ok(self) -> bool:
        return (self.count_ref == self.count and self.labels_same
                and self.max_score_diff <= self.score_tol
                and self.max_box_diff <= self.box_tol)

    def __str__(self) -> str:
        return (f'top-{self.top}: {self.count} / {self.count_ref} detections'
                f', labels {"same" if self.labels_same else "DIFFER"}, '
                f'max score diff {self.max_score_diff:.2e}, max box diff '
                f'{self.max_box_diff:.2e} px')


def compare(ref, cand, top: int = 100, score_tol: float = SCORE_TOL,
            box_tol: float = BOX_TOL) -> Agreement:
    """``ref`` / ``cand``: ``pred_instances``. Detections are taken in
    score order; where scores tie (within ``score_tol``) the order among
    them is float rounding, so a reference detection is paired with the
    candidate of its rank or, failing that, with a matching one of the
    candidates whose scores are within ``score_tol`` of its own."""
    def best(inst):
        order = inst.scores.argsort(descending=True, stable=True)[:top]
        return (inst.labels[order], inst.scores[order].float(),
                inst.bboxes[order].float())

    l_ref, s_ref, b_ref = best(ref)
    l_c, s_c, b_c = best(cand)
    used = torch.zeros(len(l_c), dtype=torch.bool)
    score = box = 0.0
    same = len(l_ref) == len(l_c)
    for i in range(min(len(l_ref), len(l_c))):
        box_diff = (b_c - b_ref[i]).abs().amax(-1)
        score_diff = (s_c - s_ref[i]).abs()
        fits = (l_c == l_ref[i]) & (score_diff <= score_tol) & \
            (box_diff <= box_tol) & ~used
        j = i if bool(fits[i]) else (
            int(fits.nonzero()[0]) if bool(fits.any()) else i)
        if not bool(fits[j]):
            same = False
        used[j] = True
        score = max(score, float(score_diff[j]))
        box = max(box, float(box_diff[j]))
    return Agreement(top, len(l_ref), len(l_c), same, score, box,
                     score_tol, box_tol)


@dataclass
class Drift:
    """How far a lower precision's detections moved from a reference's:
    of the reference's top ``k``, how many the candidate's top ``k``
    keeps (the same label, IoU >= ``iou``); for those, paired each with
    its best-overlapping candidate, the largest score difference and the
    largest box-coordinate difference (px); whether the top-1 is the same
    detection."""
    k: int
    count_ref: int
    count: int
    kept: int
    score_drift: float
    box_drift: float
    top1_same: bool
    iou: float = 0.9

    def __str__(self) -> str:
        if not self.count_ref or not self.count:
            return f'top-{self.k}: {self.count} / {self.count_ref} detections'
        return (f'top-{self.k} kept {self.kept} / {self.count_ref} (same '
                f'label, IoU >= {self.iou}), largest score drift '
                f'{self.score_drift:.4f}, box drift {self.box_drift:.2f} '
                f'px, top-1 {"same" if self.top1_same else "another"}')


def drift(ref, cand, k: int = 10, iou: float = 0.9) -> Drift:
    """:class:`Drift` of ``cand`` from ``ref`` (``pred_instances``)."""
    from mmdet.structures.bbox import bbox_overlaps

    def best(inst):
        order = inst.scores.argsort(descending=True, stable=True)[:k]
        return (inst.labels[order], inst.scores[order].float(),
                inst.bboxes[order].float())

    l_r, s_r, b_r = best(ref)
    l_c, s_c, b_c = best(cand)
    if not len(l_r) or not len(l_c):
        return Drift(k, len(l_r), len(l_c), 0, 0.0, 0.0, False, iou)
    overlaps = bbox_overlaps(b_r, b_c)
    fits = (overlaps >= iou) & (l_r[:, None] == l_c[None, :])
    score = box = 0.0
    for i in fits.any(1).nonzero().flatten().tolist():
        j = int(torch.where(fits[i], overlaps[i], -1.0).argmax())
        score = max(score, float((s_r[i] - s_c[j]).abs()))
        box = max(box, float((b_r[i] - b_c[j]).abs().max()))
    return Drift(k, len(l_r), len(l_c), int(fits.any(1).sum()), score, box,
                 bool(fits[0, 0]), iou)


def top_k_kept(ref, cand, k: int = 10, iou: float = 0.9) -> str:
    """:func:`drift` in words: of ``ref``'s top ``k``, how many ``cand``'s
    top ``k`` keeps (the same label, IoU >= ``iou``), the largest score
    and box drift of those, and whether the top-1 is the same
    detection."""
    return str(drift(ref, cand, k, iou))
