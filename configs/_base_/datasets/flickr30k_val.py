# Flickr30k Entities phrase grounding, val split: flickr30k_test.py with
#   data/flickr30k_entities/final_flickr_separateGT_val.json
_base_ = './flickr30k_test.py'
ann_file = 'final_flickr_separateGT_val.json'

val_dataloader = dict(dataset=dict(ann_file=ann_file))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=_base_.data_root + ann_file)
test_evaluator = val_evaluator
