# Ablation: 'sum' fusion of the two streams (default 'gated').
_base_ = './contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py'
model = dict(decode_head=dict(fusion='sum'))
