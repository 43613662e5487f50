# PSPNet (pyramid pooling) on a dilated ResNetV1c-50 (output stride 8),
# Cityscapes at 512x512 crop, mmseg's schedule: 40k iterations, 4 GPUs x 2
# images, SGD + poly. mmseg's own config (512x1024 crop) is
# pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py; same model.
_base_ = [
    '../_base_/models/pspnet_r50-d8.py',
    '../_base_/datasets/cityscapes_512x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
