# dyhead-t: GLIP-T (A)'s visual tower (Swin-T + FPN + 6 DyHead blocks) with
# mmdet's closed-set ATSS head, fine-tuned on COCO with GLIP's schedule
# (see ../_base_/models/dyhead_swin-t.py). The few-shot benchmark runs it
# on each task's classes instead (tools/benchmark_fewshot.py dyhead-t
# --weights glip-t_a ...; the classifier is sized to the task).
#
# A STAND-IN for the paper's DyHead-T (O365), the baseline of GLIP's ODinW
# table: that one is a closed-set detector trained on Objects365; this one
# takes the visual weights of GLIP-T (A) (trained on Objects365 too, as a
# grounding model: its DyHead tower and box branch saw the class names
# through the alignment, not a classifier), and its classifier starts
# fresh. Numbers of this model are not the paper's DyHead-T numbers.
_base_ = [
    '../_base_/models/dyhead_swin-t.py',
    '../_base_/datasets/coco_detection.py', '../_base_/default_runtime.py',
    '../_base_/schedules/glip_coco_finetune_24e.py'
]
load_from = 'mmglip://glip-t_a'
