# FCN on HRNetV2-W48 with the multi-scale and cross-scale contrastive loss
# (MS/CS, Pissas et al., ECCV 2022) on the four HRNet branches (strides
# 4..32), Cityscapes 512x1024 crops, mmseg's schedule: 80k iterations, 4 GPUs
# x 2 images, SGD + poly. The MS/CS head is an auxiliary head: training only,
# nothing of it runs at inference.
_base_ = [
    '../_base_/models/fcn_hr18.py', '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://msra/hrnetv2_w48',
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384)))),
    decode_head=dict(
        in_channels=[48, 96, 192, 384], channels=sum([48, 96, 192, 384])),
    auxiliary_head=dict(
        type='MultiScaleContrastHead',
        in_channels=[48, 96, 192, 384],
        in_index=[0, 1, 2, 3],
        embed_dim=256,
        num_classes=19,
        norm_cfg=norm_cfg,
        loss_contrast=dict(
            type='MultiScaleCrossScaleContrastLoss',
            temperature=0.1,
            # Within-scale weights, high to low resolution.
            scale_weights=(1.0, 0.7, 0.4, 0.1),
            # Stride 4 against stride 32 and against stride 16.
            cross_scale_pairs=((0, 3), (0, 2)),
            cross_scale_weights=(1.0, 1.0),
            loss_weight=0.1,
            max_samples_per_image=1024,
            min_pixels=5,
            ignore_index=255,
            cross_image=True,
            ms_loss_name='loss_ms',
            cs_loss_name='loss_cs')))
train_dataloader = dict(batch_size=2, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader
