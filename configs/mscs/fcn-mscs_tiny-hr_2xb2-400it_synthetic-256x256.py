# A tiny HRNet (widths 16/32/64/128, one block per stage, random init) with
# an FCN head and the MS/CS auxiliary head on the generated Cityscapes-layout
# data: the CPU demo and the end-to-end tests. Train with
# `bash tools/dist_train.sh <this config> 2` (2 CPU processes x 2 images,
# 256x256 crops, 400 iterations).
_base_ = [
    '../_base_/models/fcn_hr18.py',
    '../_base_/datasets/synthetic_cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_synthetic_cpu.py'
]
crop_size = (256, 256)
norm_cfg = dict(type='BN', requires_grad=True)
widths = [16, 32, 64, 128]
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        norm_cfg=norm_cfg,
        extra=dict(
            stage1=dict(num_blocks=(1, ), num_channels=(16, )),
            stage2=dict(num_blocks=(1, 1), num_channels=(16, 32)),
            stage3=dict(
                num_modules=1, num_blocks=(1, 1, 1),
                num_channels=(16, 32, 64)),
            stage4=dict(
                num_modules=1,
                num_blocks=(1, 1, 1, 1),
                num_channels=(16, 32, 64, 128)))),
    decode_head=dict(
        in_channels=widths, channels=sum(widths), norm_cfg=norm_cfg),
    auxiliary_head=dict(
        type='MultiScaleContrastHead',
        in_channels=widths,
        in_index=[0, 1, 2, 3],
        embed_dim=32,
        num_classes=19,
        norm_cfg=norm_cfg,
        loss_contrast=dict(
            type='MultiScaleCrossScaleContrastLoss',
            temperature=0.1,
            scale_weights=(1.0, 0.7, 0.4, 0.1),
            cross_scale_pairs=((0, 3), (0, 2)),
            cross_scale_weights=(1.0, 1.0),
            loss_weight=0.1,
            max_samples_per_image=256,
            min_pixels=5)))
