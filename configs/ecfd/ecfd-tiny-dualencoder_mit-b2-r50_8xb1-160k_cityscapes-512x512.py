# ECFD-tiny as the decoder of ContraFusionNet's DualEncoder: MiT (64/128/256/
# 512) and ResNetV1c-50 on the same image; at each level both streams are
# projected to 256 channels and fused by a gated FusionBlock, and ECFD-tiny
# decodes the four fused levels. Losses: CE + Dice and the cross-encoder
# contrast of the two streams' pre-fusion laterals at strides 16 and 32 (as
# ContraFusionNet), plus ECFD's auxiliary FCN head on the CNN's stride-16
# level (weight 0.4).
# Schedule and data as the ContraFusionNet 160k configs (AdamW + poly, 8 GPUs
# x 1 image, 512x512 crops, slide inference).
_base_ = [
    '../_base_/models/contrafusionnet_mit-r50-psp.py',
    '../_base_/datasets/cityscapes_512x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_160k.py'
]
crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        _delete_=True,
        type='ECFDHead',
        transformer_in_channels=[64, 128, 256, 512],
        cnn_in_channels=[256, 512, 1024, 2048],
        fusion='gated',
        fusion_channels=256,
        in_index=[0, 1, 2, 3],
        channels=256,
        embed_dims=192,
        num_blocks=3,
        num_heads=6,
        num_points=4,
        ffn_ratio=0.5,
        init_values=0.,
        pos_shape=(crop_size[0] // 16, crop_size[1] // 16),
        add_context=False,
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
            dict(
                type='DiceLoss',
                use_sigmoid=False,
                naive_dice=True,
                loss_weight=1.0,
                loss_name='loss_dice'),
        ],
        contrast_levels=(2, 3),
        embed_dim=128,
        loss_contrast=dict(
            type='CrossEncoderContrastLoss',
            mode='pixel',
            temperature=0.07,
            loss_weight=0.1,
            max_samples_per_image=256,
            class_balanced=True,
            ignore_index=255,
            loss_name='loss_contrast')),
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
    auxiliary_stream='cnn',
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
train_dataloader = dict(batch_size=1, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader
