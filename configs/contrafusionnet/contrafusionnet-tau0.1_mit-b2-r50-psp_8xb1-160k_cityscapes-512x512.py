# Ablation: contrastive temperature 0.1 (default 0.07).
_base_ = './contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py'
model = dict(decode_head=dict(loss_contrast=dict(temperature=0.1)))
