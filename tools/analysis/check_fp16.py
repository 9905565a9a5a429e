#!/usr/bin/env python
"""Compare GLIP's fp16 / bf16 (autocast) detections with fp32.

    python tools/analysis/check_fp16.py IMAGES MODEL --weights CKPT \\
        --texts "person. dog" --device cuda

IMAGES: image files and / or folders; MODEL: a config file or a model name
(glip-t_a ... glip-l, glip-lite). Each image runs in fp32, then under
torch.autocast in each --dtypes; per image and dtype it prints how many of
the fp32 top-k detections have a partner (same label, IoU >= --iou), the
largest score and box-coordinate differences over those pairs, whether the
top-1 detection is the same, and the mean time per image (after one warm-up
pass). The last lines sum up over all images. Exit status 0, or 1 when a
dtype gave non-finite scores or matched fewer than --min-match of the
top-k.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmglip.utils.cli import (HelpFormatter, add_debug_flag,  # noqa: E402
                              check_device, non_negative_float, positive_int,
                              run_tool)

DTYPES = ('float16', 'bfloat16')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('inputs', nargs='+', help='image files and / or folders')
    p.add_argument('model', help='config file or model name')
    p.add_argument('--weights', help='checkpoint (official GLIP file, '
                   'mmglip checkpoint or zoo name); default: the model\'s '
                   'initialisation')
    p.add_argument('--texts', required=True, help='"a. b. c" class names')
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    p.add_argument('--dtypes', nargs='+', choices=DTYPES, default=DTYPES,
                   help='autocast dtypes compared with fp32')
    p.add_argument('--top-k', type=positive_int, default=10,
                   help='fp32 detections to look for')
    p.add_argument('--iou', type=non_negative_float, default=0.9,
                   help='IoU a partner needs')
    p.add_argument('--min-match', type=non_negative_float, default=0.9,
                   help='fraction of the top-k that must be matched')
    p.add_argument('--repeat', type=positive_int, default=3,
                   help='timed passes per image and dtype')
    p.add_argument('--language-model', help='hub id or local directory of '
                   'the text encoder (default: the config\'s)')
    add_debug_flag(p)
    return p.parse_args(argv)


def match_detections(ref, test, top_k=10, iou_thr=0.9):
    """Greedy one-to-one matching of ``ref``'s top-k detections (in score
    order) to ``test``'s: same label, IoU >= iou_thr, best IoU first.

    Args:
        ref, test: InstanceData with ``bboxes``, ``scores``, ``labels``.

    Returns:
        dict: ``total`` (min(top_k, len(ref))), ``matched``, ``max_score_diff``
        and ``max_box_diff`` (largest absolute coordinate difference, px)
        over the matched pairs, ``top1_same`` (same label, IoU >= iou_thr)
        and ``finite`` (all test scores finite).
    """
    import torch
    from mmdet.structures.bbox import bbox_overlaps
    order = ref.scores.argsort(descending=True)[:top_k]
    r_boxes, r_scores = ref.bboxes[order].float(), ref.scores[order].float()
    r_labels = ref.labels[order]
    t_boxes, t_scores = test.bboxes.float(), test.scores.float()
    out = dict(total=len(order), matched=0, max_score_diff=0.0,
               max_box_diff=0.0, top1_same=False,
               finite=bool(torch.isfinite(t_scores).all()))
    if not len(order) or not len(t_scores):
        out['top1_same'] = not len(order) and not len(t_scores)
        return out
    iou = bbox_overlaps(r_boxes, t_boxes)
    iou[r_labels[:, None] != test.labels[None]] = -1
    free = torch.ones(len(t_scores), dtype=torch.bool)
    for i in range(len(order)):
        cand = torch.where(free, iou[i], iou.new_tensor(-1.0))
        j = int(cand.argmax())
        if cand[j] < iou_thr:
            continue
        free[j] = False
        out['matched'] += 1
        out['max_score_diff'] = max(out['max_score_diff'],
                                    float((r_scores[i] - t_scores[j]).abs()))
        out['max_box_diff'] = max(
            out['max_box_diff'], float((r_boxes[i] - t_boxes[j]).abs().max()))
    top = int(test.scores.argmax())
    out['top1_same'] = bool(test.labels[top] == r_labels[0]
                            and iou[0, top] >= iou_thr)
    return out


def predict(model, image, names, device_type, dtype, repeat):
    """Detections of one image and the mean seconds per pass."""
    import torch

    from mmglip.apis import inference
    sync = torch.cuda.synchronize if device_type == 'cuda' else (lambda: 0)
    with torch.autocast(device_type, dtype=dtype or torch.float32,
                        enabled=dtype is not None):
        res = inference(model, image, names)  # warm-up
        sync()
        start = time.perf_counter()
        for _ in range(repeat):
            res = inference(model, image, names)
        sync()
    return res.pred_instances.cpu(), (time.perf_counter() - start) / repeat


def main(argv=None):
    args = parse_args(argv)
    device = check_device(args.device)
    import torch

    from mmglip.apis import init_model
    from mmglip.apis.inference import prompt_names
    from mmglip.utils.images import list_images
    images = list_images(args.inputs)
    names = prompt_names(args.texts, '--texts')
    model = init_model(args.model, args.weights, device=device,
                       language_model=args.language_model)
    device_type = torch.device(device).type
    totals = {d: dict(matched=0, total=0, score=0.0, box=0.0, top1=0,
                      finite=True, time=0.0) for d in args.dtypes}
    fp32_time = 0.0
    with torch.no_grad():
        for image in images:
            ref, t_ref = predict(model, image, names, device_type, None,
                                 args.repeat)
            fp32_time += t_ref
            print(f'{image}: fp32 {len(ref)} detections, {t_ref:.3f} s')
            for name in args.dtypes:
                test, t = predict(model, image, names, device_type,
                                  getattr(torch, name), args.repeat)
                m = match_detections(ref, test, args.top_k, args.iou)
                tot = totals[name]
                tot['matched'] += m['matched']
                tot['total'] += m['total']
                tot['score'] = max(tot['score'], m['max_score_diff'])
                tot['box'] = max(tot['box'], m['max_box_diff'])
                tot['top1'] += m['top1_same']
                tot['finite'] &= m['finite']
                tot['time'] += t
                print(f'  {name}: matched {m["matched"]}/{m["total"]} '
                      f'(IoU>={args.iou:g}), max score diff '
                      f'{m["max_score_diff"]:.4f}, max box diff '
                      f'{m["max_box_diff"]:.2f} px, top-1 '
                      f'{"same" if m["top1_same"] else "DIFFERENT"}, '
                      f'finite {m["finite"]}, {t:.3f} s')
    n = len(images)
    print(f'summary over {n} image(s) on {device}: fp32 '
          f'{fp32_time / n:.3f} s/image')
    failed = False
    for name, tot in totals.items():
        frac = tot['matched'] / max(tot['total'], 1)
        failed |= frac < args.min_match or not tot['finite']
        print(f'  {name}: matched {tot["matched"]}/{tot["total"]} '
              f'({frac:.1%}), max score diff {tot["score"]:.4f}, max box '
              f'diff {tot["box"]:.2f} px, top-1 same {tot["top1"]}/{n}, '
              f'finite {tot["finite"]}, {tot["time"] / n:.3f} s/image '
              f'(x{fp32_time / max(tot["time"], 1e-9):.2f} vs fp32)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
