# Ablation of the tiny model: its transformer encoder alone (MiT 16/32/64/128
# + the same all-MLP decoder); no CNN, no fusion, no contrast. The demo
# trains it next to the tiny ContraFusionNet with the same schedule.
_base_ = './contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py'
model = dict(
    cnn_backbone=None,
    decode_head=dict(
        cnn_in_channels=None, pool_scales=None, loss_contrast=None))
