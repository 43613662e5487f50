# SegFormer MiT-B0 with the ContraFusionNet seed's schedule (Adam 1e-4,
# constant; 1 GPU x 1 image; 100 epochs), for comparisons with ContraFusionNet
# that hold everything but the model equal: same bases (data, runtime, seed
# schedule) and sliding-window inference as
# contrafusionnet_*_1xb1-100e_cityscapes-512x512.py. Same network as
# segformer_mit-b0_8xb1-160k_cityscapes-512x512.py, without stochastic depth
# (drop_path_rate 0, as the seed's SegFormer baseline; 0.1 there).
_base_ = [
    '../_base_/models/segformer_mit-b0.py',
    '../_base_/datasets/cityscapes_512x512_seed.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_seed_100e.py'
]
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth'  # noqa
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint),
        drop_path_rate=0.0),
    # Sliding 512x512 windows, stride 341, as the ContraFusionNet configs.
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
