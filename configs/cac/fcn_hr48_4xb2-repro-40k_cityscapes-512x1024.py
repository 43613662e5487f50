# The released CAC code's 40k baseline (Lv et al., "Confidence-Aware
# Contrastive Learning for Semantic Segmentation", ACM MM 2023): FCN head on
# HRNetV2-W48, Cityscapes 512x1024 crops, 40k iterations, 4 GPUs x 2 images,
# SGD + poly, cross-entropy with OHEM (thresh 0.9, at least 131072 pixels per
# image) and no class weights. The clean baseline of the pair
# (fcn_hr48_4xb2-40k_cityscapes-512x1024.py) plus OHEM; see
# configs/cac/README.md, "Reproduction configs".
_base_ = './fcn_hr48_4xb2-40k_cityscapes-512x1024.py'
model = dict(
    decode_head=dict(
        sampler=dict(type='OHEMPixelSampler', thresh=0.9, min_kept=131072)))
