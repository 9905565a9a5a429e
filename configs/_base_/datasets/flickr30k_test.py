# Flickr30k Entities phrase grounding, test split (MDETR annotations): each
# sentence's caption is the prompt, its phrases the entities; scored with
# Recall@1/5/10 per phrase (IoU >= 0.5) by Flickr30kMetric. The val split:
# flickr30k_val.py.
# Layout (checked when loaded; see README "LVIS and Flickr30k data"):
#   data/flickr30k_entities/final_flickr_separateGT_{val,test}.json
#   data/flickr30k_entities/flickr30k_images/*.jpg
_base_ = './glip_data.py'
data_root = 'data/flickr30k_entities/'
ann_file = 'final_flickr_separateGT_test.json'

# the sentence's phrases travel with the sample for the metric
test_pipeline = _base_.test_pipeline[:-1] + [
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'text', 'custom_entities',
                    'tokens_positive', 'phrases', 'phrase_ids'))
]
train_dataloader = None  # an evaluation set only
val_dataloader = dict(
    dataset=dict(
        type='Flickr30kDataset',
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=dict(img='flickr30k_images/'),
        return_classes=False,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# official GLIP: separate ground truth (FLICKR_GT_TYPE "separate")
val_evaluator = dict(
    type='Flickr30kMetric',
    ann_file=data_root + ann_file,
    topk=(1, 5, 10, -1),
    iou_thrs=0.5,
    merge_boxes=False)
test_evaluator = val_evaluator
