# COCO 2017 with class names as the prompt (official GLIP input pipeline)
dataset_type = 'mmdet.CocoDataset'
data_root = 'data/coco/'
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'text', 'custom_entities',
             'tokens_positive', 'caption_prompt')

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

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='mmdet.DefaultSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
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
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        return_classes=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='mmdet.CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
