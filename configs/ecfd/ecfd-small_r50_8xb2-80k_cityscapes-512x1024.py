# ECFD-small: ECFD-tiny with token width D = 384 (the only difference in the
# released training logs).
_base_ = './ecfd-tiny_r50_8xb2-80k_cityscapes-512x1024.py'
model = dict(decode_head=dict(embed_dims=384))
