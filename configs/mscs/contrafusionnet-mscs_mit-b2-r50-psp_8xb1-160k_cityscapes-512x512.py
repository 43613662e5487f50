# ContraFusionNet (PSP variant, 160k) plus MS/CS (Pissas et al., ECCV 2022)
# on each encoder: one training-only MultiScaleContrastHead on the MiT levels
# and one on the ResNetV1c-50 levels (DualEncoder's per-head
# auxiliary_stream). Logged as aux_0.loss_ms / aux_0.loss_cs (transformer)
# and aux_1.loss_ms / aux_1.loss_cs (CNN), next to decode.loss_ce,
# decode.loss_dice and decode.loss_contrast.
# proj_channels=256: the released MS/CS projection head's hidden width is
# its input's (up to 2048 on ResNet's last stage); 256 keeps peak training
# memory within 1.05x of CE + Dice (docs/performance.md).
# fcn-mscs_hr48 keeps the released widths.
_base_ = ('../contrafusionnet/'
          'contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py')
norm_cfg = dict(type='SyncBN', requires_grad=True)
mscs_loss = dict(
    type='MultiScaleCrossScaleContrastLoss',
    temperature=0.1,
    scale_weights=(1.0, 0.7, 0.4, 0.1),
    cross_scale_pairs=((0, 3), (0, 2)),
    cross_scale_weights=(1.0, 1.0),
    loss_weight=0.1,
    max_samples_per_image=1024,
    min_pixels=5,
    ignore_index=255,
    cross_image=True)
model = dict(
    auxiliary_head=[
        dict(
            type='MultiScaleContrastHead',
            in_channels=[64, 128, 256, 512],
            in_index=[0, 1, 2, 3],
            embed_dim=256,
            proj_channels=256,
            num_classes=19,
            norm_cfg=norm_cfg,
            loss_contrast=mscs_loss),
        dict(
            type='MultiScaleContrastHead',
            in_channels=[256, 512, 1024, 2048],
            in_index=[0, 1, 2, 3],
            embed_dim=256,
            proj_channels=256,
            num_classes=19,
            norm_cfg=norm_cfg,
            loss_contrast=mscs_loss),
    ],
    auxiliary_stream=['transformer', 'cnn'])
