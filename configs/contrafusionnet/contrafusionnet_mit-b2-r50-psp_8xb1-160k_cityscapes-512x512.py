# ContraFusionNet PSP variant (MiT 64/128/256/512 + ResNetV1c-50 + PPM),
# mmseg-style schedule: AdamW + poly, 160k iterations, 8 GPUs x 1 image,
# Cityscapes 512x512 crops; CE + Dice + cross-encoder contrast.
_base_ = [
    '../_base_/models/contrafusionnet_mit-r50-psp.py',
    '../_base_/datasets/cityscapes_512x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_160k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
train_dataloader = dict(batch_size=1, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader
