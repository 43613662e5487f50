# FCN HRNetV2-W48 with the ContraFusionNet seed's schedule (Adam 1e-4,
# constant; 1 GPU x 1 image; 100 epochs), for comparisons with ContraFusionNet
# that hold everything but the model equal: same bases (data, runtime, seed
# schedule) and sliding-window inference as
# contrafusionnet_*_1xb1-100e_cityscapes-512x512.py. Same model as
# fcn_hr48_4xb2-40k_cityscapes-512x512.py.
_base_ = [
    '../_base_/models/fcn_hr18.py',
    '../_base_/datasets/cityscapes_512x512_seed.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_seed_100e.py'
]
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
crop_size = (512, 512)
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
    # Sliding 512x512 windows, stride 341, as the ContraFusionNet configs.
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
