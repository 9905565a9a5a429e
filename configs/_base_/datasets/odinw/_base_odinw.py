# Shared settings of the 13 ODinW task configs in this folder (the official
# layout, GLIP-REFERENCE section 2). A task config inherits this file and
# sets its classes, folder, splits and prompt options; see README.md here.
#
# Data root: every path is built from `odinw_root`, which is the environment
# variable ODINW_ROOT when set (ODINW_ROOT=/data/odinw python tools/...),
# else 'data/odinw/'. mmengine evaluates a config once, so changing
# `odinw_root` later (--cfg-options, an inheriting config) does not move the
# paths by itself: call mmglip.datasets.configure_odinw(cfg) after the
# change, or override the dataloaders' `data_root` and the evaluators'
# `ann_file` (README.md lists the keys).
odinw_root = '{{$ODINW_ROOT:data/odinw}}/'
dataset_type = 'mmglip.ODinWDataset'
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'text', 'custom_entities',
             'tokens_positive', 'caption_prompt')
# official GLIP fine-tuning input: shorter side 480..800, longer <= 1333
train_pipeline = [
    dict(type='LoadImageChecked', imdecode_backend='pillow',
         backend_args=backend_args),
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(
        type='mmdet.RandomChoiceResize',
        scales=[(1333, 480), (1333, 560), (1333, 640), (1333, 720),
                (1333, 800)],
        keep_ratio=True,
        resize_type='mmdet.FixScaleResize',
        backend='pillow'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    dict(type='mmdet.PackDetInputs', meta_keys=meta_keys)
]
test_pipeline = [
    dict(type='LoadImageChecked', imdecode_backend='pillow',
         backend_args=backend_args),
    dict(type='mmdet.FixScaleResize', scale=(800, 1333), keep_ratio=True,
         backend='pillow'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'text', 'custom_entities',
                    'tokens_positive', 'caption_prompt'))
]

# batch 4 as the official ODinW tuning schedule
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='mmdet.DefaultSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        filter_cfg=dict(filter_empty_gt=True),
        return_classes=True,
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='mmdet.DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        test_mode=True,
        return_classes=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='mmdet.DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        test_mode=True,
        return_classes=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
val_evaluator = dict(
    type='mmdet.CocoMetric', metric='bbox', backend_args=backend_args)
test_evaluator = dict(
    type='mmdet.CocoMetric', metric='bbox', backend_args=backend_args)
