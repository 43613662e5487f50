# ECFD-tiny (token width D = 192, 3 cross fusion blocks) on ResNetV1c-50
# (non-dilated, strides 4..32), Cityscapes 512x1024 crops, the ECFD recipe:
# 8 GPUs x 2 images, 80k iterations, AdamW lr 1e-4 (backbone x0.1), wd 1e-4,
# linear warm-up 1500 iterations, then poly (power 1). Auxiliary FCN head on
# C3 (weight 0.4). The context position embedding is sized for the crop's
# 1/16 grid (32x64); slide inference with the training crop keeps it there.
# The head is the original's layout and init (see README.md, "Differences
# from the original code"); the named options below select mmcv-style
# variants.
_base_ = [
    '../_base_/datasets/cityscapes.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        type='ECFDHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        channels=256,
        embed_dims=192,
        num_blocks=3,
        num_heads=6,
        num_points=4,
        ffn_ratio=0.5,
        init_values=0.,
        # The 1/16 grid of the 512x1024 crop.
        pos_shape=(crop_size[0] // 16, crop_size[1] // 16),
        add_context=False,
        # As the original: C1 -> CLGD through a plain 1x1 conv with bias
        # ('conv_bn_relu' for conv-BN-ReLU), FPN resizes with
        # align_corners=True, a bias on the C2'..C4' 1x1 convs before their
        # BN, PyTorch's default init ('kaiming': mmcv ConvModule's).
        c1_projection='conv',
        fpn_align_corners=True,
        spatial_out_bias=True,
        init='pytorch',
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 683)))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.0001),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=80000,
        by_epoch=False)
]
train_dataloader = dict(batch_size=2, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader
