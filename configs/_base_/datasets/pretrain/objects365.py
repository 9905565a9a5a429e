# Objects365 v2 (a detection part of GLIP pretraining): mmdet's
# Objects365V2Dataset (its 365 class names) under data/objects365/:
#   data/objects365/annotations/zhiyuan_objv2_train.json
#   data/objects365/train/patch0 ... patch50/
# (https://www.objects365.org; the layout of mmdet's objects365 configs).
# A pretraining config completes it with pretrain_data.py's detection_part.
objects365_train = dict(
    type='mmdet.Objects365V2Dataset',
    data_root='data/objects365/',
    ann_file='annotations/zhiyuan_objv2_train.json',
    data_prefix=dict(img='train/'))
