# Ablation: CNN encoder only (ResNetV1c-50 + pyramid pooling + the all-MLP
# decoder of ContrastiveFusionHead); no transformer, no fusion, no contrast.
_base_ = './contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py'
model = dict(
    backbone=None,
    decode_head=dict(transformer_in_channels=None, loss_contrast=None))
