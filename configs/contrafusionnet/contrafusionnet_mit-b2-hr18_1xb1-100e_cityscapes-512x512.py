# ContraFusionNet HRNet variant (MiT + HRNetV2-W18) with the seed's schedule:
# Adam, lr 1e-4 (constant), 1 GPU x 1 image, 100 epochs of the 2975
# Cityscapes training images (297,500 iterations), 512x512 crops;
# CE + Dice + contrast.
_base_ = [
    '../_base_/models/contrafusionnet_mit-hr18.py',
    '../_base_/datasets/cityscapes_512x512_seed.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_seed_100e.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
