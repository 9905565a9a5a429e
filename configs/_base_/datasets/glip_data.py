# What every GLIP dataset config shares (COCO, the ODinW tasks, the demo
# data): the official GLIP input pipelines, the class names as the prompt
# (return_classes) and the dataloaders' sampling. A dataset config inherits
# this file and adds its dataset type, files, train batch size and metric.
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'text', 'custom_entities',
             'tokens_positive', 'caption_prompt')
# official GLIP input: shorter side 480..800 (test 800), longer <= 1333
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
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='mmdet.DefaultSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
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
        test_mode=True,
        return_classes=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
