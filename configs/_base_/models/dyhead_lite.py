# dyhead-lite: glip-lite's visual tower (EfficientNet-Lite0, ImageNet,
# frozen + FPN at 64 channels + its 2 DyHead blocks with plain 3x3 convs) as
# a closed-set ATSS detector: the CPU-sized baseline beside glip-lite in the
# main job (demo/main.py). The visual tower is read from glip_lite.py, the
# closed-set head is dyhead_swin-t.py's (see there). glip-lite has no
# released weights: like glip-lite, it starts from the ImageNet backbone,
# the rest initialised; a glip-lite checkpoint (2 fusion blocks) is refused.
_base_ = './glip_lite.py'

model = dict(
    _delete_=True,
    type='DyHeadATSS',
    name='dyhead-lite',
    weights_from='glip-lite',
    data_preprocessor=_base_.model.data_preprocessor,
    backbone=_base_.model.backbone,
    neck=_base_.model.neck,
    dyhead=dict(
        type='DyHeadNeck',
        num_blocks=_base_.model.fusion_neck.num_blocks,
        channels=_base_.model.fusion_neck.channels,
        dyhead_cfg=_base_.model.fusion_neck.get('dyhead_cfg', {}),
        use_checkpoint=_base_.model.fusion_neck.use_checkpoint),
    bbox_head=dict(
        type='mmdet.ATSSHead',
        num_classes=80,
        in_channels=_base_.model.bbox_head.in_channels,
        feat_channels=_base_.model.bbox_head.feat_channels,
        stacked_convs=0,
        pred_kernel_size=1,
        anchor_generator=_base_.model.bbox_head.anchor_generator,
        bbox_coder=dict(type='ExclusiveGLIPBoxCoder'),
        loss_cls=dict(
            type='mmdet.FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
            loss_weight=1.0),
        loss_bbox=_base_.model.bbox_head.loss_bbox,
        loss_centerness=_base_.model.bbox_head.loss_centerness),
    train_cfg=_base_.model.train_cfg,
    test_cfg=_base_.model.test_cfg)
