# ContraFusionNet HRNet variant (MiT + HRNetV2-W18) with the seed's schedule:
# Adam, lr 1e-4 (constant), 1 GPU x 1 image, 100 epochs of the 2975
# Cityscapes training images (297,500 iterations); the seed's data: whole
# frames resized to 512x512, random crop and flip only
# (../_base_/datasets/cityscapes_512x512_seed.py); CE + Dice + contrast.
_base_ = [
    '../_base_/models/contrafusionnet_mit-hr18.py',
    '../_base_/datasets/cityscapes_512x512_seed.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_seed_100e.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    # Stochastic depth 0 -> 0.2 over the MiT blocks, as the seed's encoder
    # (the 160k configs keep mmseg's 0.1).
    backbone=dict(drop_path_rate=0.2),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
