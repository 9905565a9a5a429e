# What GLIP's pretraining data configs share (GLIP-REFERENCE sections 3-4):
# detection sets become grounding prompts (mmglip.DetectionToGrounding: all
# positive classes + up to 85 sampled negatives, shuffled), grounding sets
# (mmglip.GroundingDataset: MDETR captions with per-box spans) are read as
# they are; both go through the official multi-scale input. The parts of a
# mixture are listed in train_dataloader.dataset.datasets and weighted by
# train_dataloader.sampler.weights (times each is seen per epoch).
# Validation and test: zero-shot COCO val2017 (coco_detection.py).
# The parts themselves (files and folders) are in objects365.py, goldg.py
# and fourods.py; a pretraining config adds `detection_part` /
# `grounding_part` to each of them.
_base_ = '../coco_detection.py'

# the tokenizer that counts prompt tokens; tools/train.py sets it to the
# model's (model.language_model.name)
prompt_tokenizer = 'bert-base-uncased'
max_tokens = 256

# official multi-scale training input (shorter side 480..800, longer <= 1333)
load_steps = [
    dict(type='LoadImageChecked', imdecode_backend='pillow',
         backend_args=_base_.backend_args),
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(type='mmdet.RandomChoiceResize',
         scales=[(1333, 480), (1333, 560), (1333, 640), (1333, 720),
                 (1333, 800)],
         keep_ratio=True, resize_type='mmdet.FixScaleResize',
         backend='pillow'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.FilterAnnotations', min_gt_bbox_wh=(1, 1)),
]
pack = dict(type='mmdet.PackDetInputs', meta_keys=_base_.meta_keys)
# captions with spans (GroundingDataset)
grounding_pipeline = load_steps + [pack]
# class lists -> prompts; seed=None: a new draw of negatives per visit from
# the worker's seeded RNG (an int: the same prompt for an image every epoch,
# whatever the number of processes)
detection_pipeline = load_steps + [
    dict(type='DetectionToGrounding', tokenizer=prompt_tokenizer,
         max_tokens=max_tokens, num_negatives=85, full_negative_prob=0.5,
         seed=None),
    pack
]

# each part: return_classes=True gives DetectionToGrounding the class names
detection_part = dict(filter_cfg=dict(filter_empty_gt=True, min_size=1),
                      return_classes=True, pipeline=detection_pipeline,
                      backend_args=_base_.backend_args)
grounding_part = dict(type='GroundingDataset', tokenizer=prompt_tokenizer,
                      max_tokens=max_tokens, pipeline=grounding_pipeline,
                      backend_args=_base_.backend_args)

# batch 2 per GPU (the official 64 on 32 GPUs); the parts' class lists
# differ, so ConcatDataset compares no metainfo
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='MixtureSampler', weights=None, shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(type='ConcatDataset', datasets=[],
                 ignore_keys=['classes', 'palette', 'ann_file',
                              'dataset_type', 'task_name']))
