"""How closely two backends' detections agree (the numbers the export's
self-check, the tests and the maintainer's table report)."""
from dataclasses import dataclass

import torch

#: the issue's bar for ONNX Runtime fp32 against PyTorch
SCORE_TOL = 1e-4
BOX_TOL = 0.01


@dataclass
class Agreement:
    """Top-``k`` detections of a reference and a candidate compared in
    rank order: how many there are, whether the labels match rank by rank,
    the largest score and box-coordinate differences."""
    top: int
    count_ref: int
    count: int
    labels_same: bool
    max_score_diff: float
    max_box_diff: float

    def ok(self, score_tol: float = SCORE_TOL,
           box_tol: float = BOX_TOL) -> bool:
        return (self.count_ref == self.count and self.labels_same
                and self.max_score_diff <= score_tol
                and self.max_box_diff <= box_tol)

    def __str__(self) -> str:
        return (f'top-{self.top}: {self.count} / {self.count_ref} detections'
                f', labels {"same" if self.labels_same else "DIFFER"}, '
                f'max score diff {self.max_score_diff:.2e}, max box diff '
                f'{self.max_box_diff:.2e} px')


def compare(ref, cand, top: int = 100) -> Agreement:
    """``ref`` / ``cand``: ``pred_instances`` (scores sorted descending,
    as mmglip returns them)."""
    def best(inst):
        order = inst.scores.argsort(descending=True, stable=True)[:top]
        return (inst.labels[order], inst.scores[order].float(),
                inst.bboxes[order].float())

    l_ref, s_ref, b_ref = best(ref)
    l_c, s_c, b_c = best(cand)
    n = min(len(l_ref), len(l_c))
    same = len(l_ref) == len(l_c) and torch.equal(l_ref, l_c)
    score = float((s_ref[:n] - s_c[:n]).abs().max()) if n else 0.0
    box = float((b_ref[:n] - b_c[:n]).abs().max()) if n else 0.0
    return Agreement(top, len(l_ref), len(l_c), same, score, box)
