# Ablation: class-level (supervised) cross-encoder contrast: positives are all
# same-class samples of the other encoder (default 'pixel': same position).
_base_ = './contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py'
model = dict(decode_head=dict(loss_contrast=dict(mode='class')))
