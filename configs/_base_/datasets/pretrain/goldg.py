# GoldG: MDETR's grounding annotations (Flickr30k Entities + the "mixed"
# GQA / Visual Genome captions without COCO val images), read by
# mmglip.GroundingDataset; the files where the official GLIP expects them:
#   data/mdetr_annotations/final_flickr_separateGT_train.json
#   data/mdetr_annotations/final_mixed_train_no_coco.json
#     (https://zenodo.org/record/4729015/files/mdetr_annotations.tar.gz)
#   data/flickr30k_entities/flickr30k_images/   Flickr30k images
#   data/coco/train2014/                        COCO 2014 train images
#   data/gqa/images/                            GQA (Visual Genome) images
# A pretraining config completes each with pretrain_data.py's
# grounding_part.
flickr30k_train = dict(
    ann_file='data/mdetr_annotations/final_flickr_separateGT_train.json',
    data_prefix=dict(img='data/flickr30k_entities/flickr30k_images/'))
# each image entry's data_source says which folder holds it
mixed_train_no_coco = dict(
    ann_file='data/mdetr_annotations/final_mixed_train_no_coco.json',
    img_prefixes=dict(coco='data/coco/train2014/', vg='data/gqa/images/'))
