# GLIP-T with deep fusion (GLIP-T (B), (C) and GLIP-T share this architecture)
# Type names: mmglip's bare (default_scope='mmglip'), mmdet's 'mmdet.'-
# prefixed ('nms' is an mmcv op name, not a registry type).
# The fusion neck's and the head's lang_dim follow the language model.
lang_model_name = 'bert-base-uncased'

model = dict(
    type='GLIP',
    # inference shortcuts with the same detections (GLIP's docstring):
    # chunks batched through BERT, GLIP-T (A)'s visual tower once per image
    # for all chunks, torch.inference_mode; False runs the plain path
    fast_inference=True,
    # official test-time input: BGR kept, Detectron-style mean / std
    data_preprocessor=dict(
        type='mmdet.DetDataPreprocessor',
        mean=[103.53, 116.28, 123.675],
        std=[57.375, 57.12, 58.395],
        bgr_to_rgb=False,
        pad_size_divisor=32),
    backbone=dict(
        type='mmdet.SwinTransformer',
        embed_dims=96,
        depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24],
        window_size=7,
        mlp_ratio=4,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.,
        attn_drop_rate=0.,
        drop_path_rate=0.2,
        patch_norm=True,
        out_indices=(1, 2, 3),
        # gradient checkpointing of every Swin block in training: less
        # activation memory for a second forward in backward (same loss and
        # gradients); tools/analysis/benchmark.py --parts c measures both
        with_cp=False,
        convert_weights=False),
    # FPN with DropBlock (p 0.3, block 3) on its outputs in training, as the
    # official model; identity at test time
    neck=dict(
        type='mmdet.FPN_DropBlock',
        plugin=dict(
            type='mmdet.DropBlock',
            drop_prob=0.3,
            block_size=3,
            warmup_iters=0),
        in_channels=[192, 384, 768],
        out_channels=256,
        start_level=0,
        relu_before_extra_convs=True,
        add_extra_convs='on_output',
        num_outs=5),
    # pad_to_max=False: captions padded to the longest of a call, not to
    # 256 (padding is masked: the same detections); cache_size: a fixed
    # prompt's features are reused while BERT does not train (0: off)
    language_model=dict(
        type='BertLanguageBackbone', name=lang_model_name, max_tokens=256,
        pad_to_max=False, cache_size=8),
    fusion_neck=dict(
        type='VLFusionNeck',
        num_blocks=6,
        channels=256,
        early_fuse=True,
        # gradient checkpointing of each fusion block in training (memory
        # for time, same loss and gradients), as with_cp of the backbone;
        # attn_cfg=dict(checkpoint_heads=True) also recomputes the X-MHA
        # attention maps one (image, head) at a time in backward
        use_checkpoint=False),
    bbox_head=dict(
        type='VLATSSHead',
        in_channels=256,
        feat_channels=256,
        anchor_generator=dict(
            type='mmdet.AnchorGenerator',
            ratios=[1.0],
            octave_base_scale=8,
            scales_per_octave=1,
            strides=[8, 16, 32, 64, 128],
            center_offset=0.5),
        bbox_coder=dict(type='GLIPBoxCoder'),
        token_loss=dict(alpha=0.25, gamma=2.0, loss_weight=1.0),
        loss_bbox=dict(type='mmdet.GIoULoss', loss_weight=2.0),
        loss_centerness=dict(
            type='mmdet.CrossEntropyLoss', use_sigmoid=True,
            loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(type='mmdet.ATSSAssigner', topk=9),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100))
