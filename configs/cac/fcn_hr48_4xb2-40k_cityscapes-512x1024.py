# Plain baseline of the CAC pair: FCN head on HRNetV2-W48, Cityscapes
# 512x1024 crops, 40k iterations, 4 GPUs x 2 images, SGD + poly (mmseg's
# hrnet/fcn_hr48_4xb2-40k_cityscapes-512x1024.py). Same model, data and
# schedule as fcn-cac_hr48_4xb2-40k_cityscapes-512x1024.py without CAC.
_base_ = [
    '../_base_/models/fcn_hr18.py', '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py'
]
crop_size = (512, 1024)
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
        in_channels=[48, 96, 192, 384], channels=sum([48, 96, 192, 384])))
