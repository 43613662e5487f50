# The reproducibility test model with MS/CS on the transformer stream too:
# two losses that sample pixels (CrossEncoderContrastLoss in the decode head,
# MultiScaleCrossScaleContrastLoss in the auxiliary head), each with its own
# step counter.
_base_ = ['./contrafusionnet_tiny-gn_synthetic-64x64.py']
norm_cfg = dict(type='GN', num_groups=4, requires_grad=True)
model = dict(
    auxiliary_head=dict(
        type='MultiScaleContrastHead',
        in_channels=[16, 32, 64, 128],
        embed_dim=16,
        num_classes=19,
        norm_cfg=norm_cfg,
        loss_contrast=dict(
            type='MultiScaleCrossScaleContrastLoss',
            max_samples_per_image=16,
            min_pixels=2,
            seed=1)),
    auxiliary_stream='transformer')
