# Ablation: additive top-down path (FPN-style, 1x1 convs) before the all-MLP
# decode (default: none).
_base_ = './contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py'
model = dict(decode_head=dict(top_down=True))
