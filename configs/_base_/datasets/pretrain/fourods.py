# The detection sets of GLIP-L besides Objects365 ("FourODs": Objects365,
# OpenImages, Visual Genome, ImageNet-Boxes). The official GLIP reads them
# from its own TSV files; mmglip reads COCO-format json (images,
# annotations, categories with names: the names are the prompt), checked at
# load like an ODinW task (mmglip.ODinWDataset: classes from the file).
# Convert each set to that format and place it so:
#   data/openimages/annotations/train.json   + data/openimages/train/
#   data/vg/annotations/train.json           + data/gqa/images/
#   data/imagenet_boxes/annotations/train.json + data/imagenet_boxes/train/
# A pretraining config completes each with pretrain_data.py's detection_part.
openimages_train = dict(
    type='ODinWDataset',
    data_root='data/openimages/',
    ann_file='annotations/train.json',
    data_prefix=dict(img='train/'))
vg_train = dict(
    type='ODinWDataset',
    data_root='data/',
    ann_file='vg/annotations/train.json',
    data_prefix=dict(img='gqa/images/'))
imagenet_boxes_train = dict(
    type='ODinWDataset',
    data_root='data/imagenet_boxes/',
    ann_file='annotations/train.json',
    data_prefix=dict(img='train/'))
