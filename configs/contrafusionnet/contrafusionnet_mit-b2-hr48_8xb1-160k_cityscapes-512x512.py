# ContraFusionNet HRNet variant with HRNetV2-W48 (branches 48/96/192/384)
# instead of W18; otherwise as the W18 160k config.
_base_ = './contrafusionnet_mit-b2-hr18_8xb1-160k_cityscapes-512x512.py'
model = dict(
    cnn_backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384))),
        init_cfg=dict(checkpoint='open-mmlab://msra/hrnetv2_w48')),
    decode_head=dict(cnn_in_channels=[48, 96, 192, 384]))
