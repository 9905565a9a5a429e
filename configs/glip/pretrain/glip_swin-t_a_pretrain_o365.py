# Pretrain GLIP-T (A): Swin-T + DyHead without deep fusion on Objects365
# (the official glip_A_Swin_T_O365.yaml); schedule and data as
# glip_swin-t_c_pretrain_o365-goldg.py, only the detection part.
_base_ = './glip_swin-t_c_pretrain_o365-goldg.py'
model = dict(fusion_neck=dict(early_fuse=False, use_checkpoint=False))
train_dataloader = dict(
    sampler=dict(weights=[1.0]),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[dict(**_base_.objects365_train, **_base_.detection_part)],
        ignore_keys=_base_.train_dataloader.dataset.ignore_keys))
