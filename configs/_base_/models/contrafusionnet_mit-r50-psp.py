# ContraFusionNet, PSP variant (Pandya et al., ICIP 2025, as defined in this
# project): a MiT encoder (widths 64/128/256/512) and a ResNetV1c-50 encoder
# (non-dilated, strides 4..32) on the same image, fused level by level by
# ContrastiveFusionHead, with pyramid pooling on the deepest CNN level and a
# training-only cross-encoder contrastive loss.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
# MiT with num_heads [1, 2, 4, 8]: stage widths 64/128/256/512 (the seed's
# encoder). Official MiT-B2 has num_heads [1, 2, 5, 8] (stage 3 = 320), so the
# mit_b2 checkpoint loads into every tensor but those of stage 3 and the
# stage-4 patch embedding, which keep their random init (mmengine warns).
mit_b2_checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b2_20220624-66e8bf70.pth'  # noqa
model = dict(
    type='DualEncoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    # The transformer encoder.
    backbone=dict(
        type='MixVisionTransformer',
        in_channels=3,
        embed_dims=64,
        num_stages=4,
        num_layers=[3, 4, 6, 3],
        num_heads=[1, 2, 4, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=mit_b2_checkpoint)),
    # The CNN encoder.
    cnn_backbone=dict(
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
        type='ContrastiveFusionHead',
        transformer_in_channels=[64, 128, 256, 512],
        cnn_in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        channels=128,
        fusion='gated',
        top_down=False,
        # Bins of the seed's PSPNet; without bin 1 the pooled BN also trains
        # with one image per GPU.
        pool_scales=(2, 3, 4, 6),
        ppm_channels=128,
        contrast_levels=(2, 3),
        embed_dim=128,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[
            dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                avg_non_ignore=True,
                loss_weight=1.0,
                loss_name='loss_ce'),
            # Softmax Dice. naive_dice: ignored pixels then only add a
            # constant to the denominator (mmseg's DiceLoss does not mask
            # them), so they do not push the prediction there.
            dict(
                type='DiceLoss',
                use_sigmoid=False,
                naive_dice=True,
                loss_weight=1.0,
                loss_name='loss_dice'),
        ],
        loss_contrast=dict(
            type='CrossEncoderContrastLoss',
            mode='pixel',
            temperature=0.07,
            loss_weight=0.1,
            max_samples_per_image=256,
            class_balanced=True,
            ignore_index=255,
            loss_name='loss_contrast')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
