# The embedded demo data: 24 train / 8 valid / 8 test Raccoon images, in the
# ODinW layout (demo/data/raccoon_mini, made by demo/make_demo_data.py)
dataset_type = 'mmdet.CocoDataset'
data_root = 'demo/data/raccoon_mini/'
classes = ('raccoon', )
metainfo = dict(classes=classes)
img_scale = (384, 288)

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'text', 'custom_entities',
             'tokens_positive', 'caption_prompt')
train_pipeline = [
    dict(type='LoadImageChecked', imdecode_backend='pillow'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(type='mmdet.RandomChoiceResize',
         scales=[(384, 256), (384, 272), (384, 288)], keep_ratio=True,
         resize_type='mmdet.FixScaleResize', backend='pillow'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    dict(type='mmdet.PackDetInputs', meta_keys=meta_keys)
]
test_pipeline = [
    dict(type='LoadImageChecked', imdecode_backend='pillow'),
    dict(type='mmdet.FixScaleResize', scale=img_scale, keep_ratio=True,
         backend='pillow'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'text', 'custom_entities',
                    'tokens_positive', 'caption_prompt'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='mmdet.DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='train/annotations_without_background.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True),
        return_classes=True,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    drop_last=False,
    sampler=dict(type='mmdet.DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='valid/annotations_without_background.json',
        data_prefix=dict(img='valid/'),
        test_mode=True,
        return_classes=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        ann_file='test/annotations_without_background.json',
        data_prefix=dict(img='test/')))
val_evaluator = dict(
    type='mmdet.CocoMetric',
    ann_file=data_root + 'valid/annotations_without_background.json',
    metric='bbox')
test_evaluator = dict(
    val_evaluator,
    ann_file=data_root + 'test/annotations_without_background.json')
