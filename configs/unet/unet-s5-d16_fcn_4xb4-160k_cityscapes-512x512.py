# U-Net S5-D16 + FCN head on Cityscapes, 512x512 crop (the ContraFusionNet
# table's crop), mmseg's Cityscapes U-Net schedule: 160k iterations, 4 GPUs x 4
# images, SGD + poly. mmseg's own config (512x1024 crop) is
# unet/unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py; the model is the same.
_base_ = [
    '../_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/cityscapes_512x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k.py'
]
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    train_cfg=dict(),
    # mmseg's Cityscapes U-Net infers on the whole 1024x2048 image.
    test_cfg=dict(mode='whole'))
train_dataloader = dict(batch_size=4, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
