# DyHead-T: GLIP-T (A)'s visual tower as a closed-set ATSS detector, the
# paper's few-shot baseline without language (GLIP-REFERENCE's ODinW table,
# "DyHead-T (O365)"). Everything visual is read from the GLIP config below,
# not repeated: data preprocessing, Swin-T, FPN (with DropBlock), the 6
# DyHead blocks of GLIP-T's fusion tower (here without fusion, as GLIP-T
# (A)), the anchors, ATSS assignment and test settings. What replaces the
# language side: mmdet's ATSSHead with a classifier of the task's classes
# (num_classes; the benchmark and the task configs set it), sigmoid focal
# loss, GIoU and centerness as GLIP's head, 1x1 predictors on the DyHead
# output (GLIP's head has no conv tower of its own: stacked_convs=0).
#
# A stand-in for the paper's DyHead-T (O365): that model was trained on
# Objects365 as a closed-set detector (its classifier of the 365 classes
# thrown away for each ODinW task); this one takes its visual weights from
# GLIP-T (A) (load_from='mmglip://glip-t_a' or any GLIP-T (A) file):
# backbone, FPN, DyHead tower, box and centerness branches, trained on O365
# as a grounding model; the classifier starts fresh. GLIP weights with
# fusion (GLIP-T (B) / (C), GLIP-T, GLIP-L) are refused.
_base_ = './glip_swin-t.py'

model = dict(
    _delete_=True,
    type='DyHeadATSS',
    name='dyhead-t',
    weights_from='GLIP-T (A)',
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
