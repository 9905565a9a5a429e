# GLIP-T (C) phrase grounding on Flickr30k Entities test (MDETR annotations):
# the model of glip_swin-t_c_zeroshot_coco.py, each sentence as the prompt
# and its phrases as the entities, Recall@1/5/10 per phrase.
# The val split: --cfg-options with the val file for both
#   test_dataloader.dataset.ann_file (final_flickr_separateGT_val.json) and
#   test_evaluator.ann_file (data/flickr30k_entities/ + that name).
# Weights: glip_tiny_model_o365_goldg.pth (see model_zoo.md).
_base_ = [
    '../_base_/models/glip_swin-t.py', '../_base_/datasets/flickr30k_test.py',
    '../_base_/default_runtime.py'
]
