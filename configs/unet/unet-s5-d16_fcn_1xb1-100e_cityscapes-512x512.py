# U-Net S5-D16 + FCN with the ContraFusionNet seed's schedule (Adam 1e-4,
# constant; 1 GPU x 1 image; 100 epochs), for comparisons with ContraFusionNet
# that hold everything but the model equal: same bases (data, runtime, seed
# schedule) and sliding-window inference as
# contrafusionnet_*_1xb1-100e_cityscapes-512x512.py. Same model as
# unet-s5-d16_fcn_4xb4-160k_cityscapes-512x512.py.
_base_ = [
    '../_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/cityscapes_512x512_seed.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_seed_100e.py'
]
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    # Sliding 512x512 windows, stride 341, as the ContraFusionNet configs.
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
