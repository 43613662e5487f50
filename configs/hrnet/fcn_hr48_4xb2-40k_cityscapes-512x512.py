# FCN head on HRNetV2-W48 (the W18 config with mmseg's W48 widths), Cityscapes
# at 512x512 crop, 40k iterations, 4 GPUs x 2 images. mmseg's own config
# (512x1024 crop) is hrnet/fcn_hr48_4xb2-40k_cityscapes-512x1024.py.
_base_ = './fcn_hr18_4xb2-40k_cityscapes-512x512.py'
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
model = dict(
    pretrained='open-mmlab://msra/hrnetv2_w48',
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384)))),
    decode_head=dict(
        in_channels=[48, 96, 192, 384], channels=sum([48, 96, 192, 384])))
