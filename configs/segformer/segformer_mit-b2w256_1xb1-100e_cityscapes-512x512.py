# SegFormer with ContraFusionNet's MiT (widths 64/128/256/512) with the
# ContraFusionNet seed's schedule (Adam 1e-4, constant; 1 GPU x 1 image; 100
# epochs), for comparisons with ContraFusionNet that hold everything but the
# model equal: same bases (data, runtime, seed schedule) and sliding-window
# inference as contrafusionnet_*_1xb1-100e_cityscapes-512x512.py. Same
# network as segformer_mit-b2w256_8xb1-160k_cityscapes-512x512.py, without
# stochastic depth (drop_path_rate 0, as the seed's SegFormer baseline; 0.1
# there).
_base_ = [
    '../_base_/models/segformer_mit-b0.py',
    '../_base_/datasets/cityscapes_512x512_seed.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_seed_100e.py'
]
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    # Random init: no ImageNet weights exist for this width.
    backbone=dict(
        init_cfg=None,
        embed_dims=64,
        num_heads=[1, 2, 4, 8],
        num_layers=[3, 4, 6, 3],
        drop_path_rate=0.0),
    decode_head=dict(in_channels=[64, 128, 256, 512]),
    # Sliding 512x512 windows, stride 341, as the ContraFusionNet configs.
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
