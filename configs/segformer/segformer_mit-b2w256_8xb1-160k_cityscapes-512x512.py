# SegFormer with the transformer encoder of ContraFusionNet: a MiT with
# stage widths 64/128/256/512 (embed_dims=64, num_heads=[1, 2, 4, 8]),
# depths 3/4/6/3 and spatial reduction 8/4/2/1, i.e. MiT-B2 with a
# 256-wide third stage (B2: 320, 5 heads). Same head, data and schedule as
# segformer_mit-b0_8xb1-160k_cityscapes-512x512.py.
# No ImageNet weights exist for this width (MiT-B2's do not fit stage 3), so
# the encoder starts from random init, as in the ContraFusionNet seed.
_base_ = './segformer_mit-b0_8xb1-160k_cityscapes-512x512.py'
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        init_cfg=None,
        embed_dims=64,
        num_heads=[1, 2, 4, 8],
        num_layers=[3, 4, 6, 3]),
    decode_head=dict(in_channels=[64, 128, 256, 512]))
