# A tiny ContraFusionNet (PSP variant with narrow widths, random init) on the
# generated Cityscapes-layout data: the CPU demo and the end-to-end tests.
# Train with `bash tools/dist_train.sh <this config> 2` (2 CPU processes x 2
# images, 256x256 crops, 400 iterations).
_base_ = [
    '../_base_/models/contrafusionnet_mit-r50-psp.py',
    '../_base_/datasets/synthetic_cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_synthetic_cpu.py'
]
crop_size = (256, 256)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    # MiT with widths 16/32/64/128, one block per stage.
    backbone=dict(
        embed_dims=16,
        num_layers=[1, 1, 1, 1],
        num_heads=[1, 2, 4, 8],
        mlp_ratio=2,
        drop_path_rate=0.0,
        init_cfg=None),
    # ResNetV1c-18 with widths 16/32/64/128.
    cnn_backbone=dict(
        depth=18, stem_channels=16, base_channels=16, init_cfg=None),
    decode_head=dict(
        transformer_in_channels=[16, 32, 64, 128],
        cnn_in_channels=[16, 32, 64, 128],
        channels=32,
        ppm_channels=16,
        embed_dim=32,
        loss_contrast=dict(max_samples_per_image=128)),
    test_cfg=dict(mode='whole'))
