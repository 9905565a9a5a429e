# Fine-tune on COCO train2017 with the official GLIP schedule (24 epochs,
# batch 32 = 16 GPUs x 2). Start from the released checkpoint, e.g.
#   python tools/train.py $THIS_CONFIG --cfg-options load_from=WEIGHTS.pth
_base_ = [
    './glip_swin-t_a_zeroshot_coco.py',
    '../_base_/schedules/glip_coco_finetune_24e.py'
]
