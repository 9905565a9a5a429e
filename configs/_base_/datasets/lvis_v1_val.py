# LVIS v1 val (19,809 images), GLIP's "val v1.0" numbers; as
# lvis_v1_minival.py with the whole val file:
#   data/lvis/lvis_v1_val.json
_base_ = './lvis_v1_minival.py'
ann_file = 'lvis/lvis_v1_val.json'

val_dataloader = dict(dataset=dict(ann_file=ann_file))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=_base_.data_root + ann_file)
test_evaluator = val_evaluator
