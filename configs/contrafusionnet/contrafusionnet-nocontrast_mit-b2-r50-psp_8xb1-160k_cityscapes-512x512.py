# Ablation: no contrastive term (CE + Dice only); fusion unchanged. No
# projection head is built.
_base_ = './contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py'
model = dict(decode_head=dict(loss_contrast=None))
