# Ablation: transformer encoder only (MiT 64/128/256/512 + the all-MLP
# decoder of ContrastiveFusionHead); no CNN, no fusion, no contrast.
_base_ = './contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py'
model = dict(
    cnn_backbone=None,
    decode_head=dict(
        cnn_in_channels=None, pool_scales=None, loss_contrast=None))
