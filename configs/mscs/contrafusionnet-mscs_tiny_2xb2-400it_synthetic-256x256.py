# The tiny ContraFusionNet with MS/CS on both encoders (one
# MultiScaleContrastHead per stream), on the generated data: CPU demo/tests.
_base_ = ('../contrafusionnet/'
          'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
norm_cfg = dict(type='BN', requires_grad=True)
mscs_loss = dict(
    type='MultiScaleCrossScaleContrastLoss',
    temperature=0.1,
    scale_weights=(1.0, 0.7, 0.4, 0.1),
    cross_scale_pairs=((0, 3), (0, 2)),
    cross_scale_weights=(1.0, 1.0),
    loss_weight=0.1,
    max_samples_per_image=256,
    min_pixels=5)
model = dict(
    auxiliary_head=[
        dict(
            type='MultiScaleContrastHead',
            in_channels=[16, 32, 64, 128],
            embed_dim=32,
            num_classes=19,
            norm_cfg=norm_cfg,
            loss_contrast=mscs_loss),
        dict(
            type='MultiScaleContrastHead',
            in_channels=[16, 32, 64, 128],
            embed_dim=32,
            num_classes=19,
            norm_cfg=norm_cfg,
            loss_contrast=mscs_loss),
    ],
    auxiliary_stream=['transformer', 'cnn'])
