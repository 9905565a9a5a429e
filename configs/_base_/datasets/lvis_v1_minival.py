# LVIS v1 minival (MDETR's 5k-image subset of LVIS v1 val), GLIP's zero-shot
# LVIS benchmark. All 1203 category names are the prompt, chunked by the
# model (model.chunk_size); scored with Fixed AP (LVISFixedAPMetric).
# Layout (checked when loaded; see README "LVIS and Flickr30k data"):
#   data/lvis/lvis_v1_minival_inserted_image_name.json
#   data/coco/train2017/, data/coco/val2017/  (images, found via coco_url)
_base_ = './glip_data.py'
data_root = 'data/'
ann_file = 'lvis/lvis_v1_minival_inserted_image_name.json'

train_dataloader = None  # an evaluation set only
val_dataloader = dict(
    dataset=dict(
        type='LVISV1Dataset',
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=dict(img='coco/')))
test_dataloader = val_dataloader

# per category the top 10,000 detections over the dataset, no per-image cap
val_evaluator = dict(
    type='LVISFixedAPMetric',
    ann_file=data_root + ann_file,
    topk=10000,
    backend_args=_base_.backend_args)
test_evaluator = val_evaluator
