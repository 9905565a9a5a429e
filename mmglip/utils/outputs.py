"""What ``tools/infer.py`` (and the page, ``tools/demo_app.py``) writes for
an image: where (:func:`output_names`, :func:`output_paths`) and what
(:func:`prediction`: the JSON of its detections). Light: no torch.
"""
import os.path as osp
from typing import Dict, List, Sequence


def output_names(images: Sequence[str]) -> Dict[str, str]:
    """image path -> its output name: the file's stem (``x``), unless two
    images share it; then its path relative to the inputs' common folder
    (``a/x``), with its suffix where that still collides (``a/x.jpg``)."""
    def clashing(names):
        return {n for n in names if names.count(n) > 1}

    real = [osp.abspath(p) for p in images]
    base = osp.commonpath([osp.dirname(p) for p in real])
    rel = [osp.relpath(p, base) for p in real]
    stems = [osp.splitext(osp.basename(r))[0] for r in rel]
    rel_stems = [osp.splitext(r)[0] for r in rel]
    out = {}
    for img, stem, rel_stem, r in zip(images, stems, rel_stems, rel):
        if stem not in clashing(stems):
            out[img] = stem
        elif rel_stem not in clashing(rel_stems):
            out[img] = rel_stem
        else:
            out[img] = r
    return out


def output_paths(out_dir: str, name: str, image: str,
                 vis: bool) -> Dict[str, str]:
    """``pred``: ``OUT/preds/<name>.json``; with ``vis`` also ``vis``:
    ``OUT/vis/<name>.<the image's suffix>``."""
    paths = dict(pred=osp.join(out_dir, 'preds', name + '.json'))
    if vis:
        ext = osp.splitext(image)[1] or '.jpg'
        paths['vis'] = osp.join(out_dir, 'vis', name + (
            '' if name.endswith(ext) else ext))
    return paths


def prediction(res, names: List[str], thr: float) -> Dict:
    """The JSON of one inference result (:class:`~mmglip.apis.ImageResult`:
    ``source`` and ``sample.pred_instances``): its detections
    scoring at least ``thr`` (``labels``, ``label_names``, ``scores``,
    ``bboxes`` x1, y1, x2, y2 in original pixels), the prompt's ``texts``
    and ``img_path``."""
    inst = res.sample.pred_instances
    keep = inst.scores >= thr
    return dict(
        img_path=res.source,
        texts=names,
        labels=inst.labels[keep].tolist(),
        label_names=[n for n, k in zip(inst.label_names, keep) if k],
        scores=inst.scores[keep].tolist(),
        bboxes=inst.bboxes[keep].tolist())


__all__ = ['output_names', 'output_paths', 'prediction']
