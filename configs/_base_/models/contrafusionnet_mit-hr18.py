# ContraFusionNet, HRNet variant: the MiT encoder of the PSP variant and an
# HRNetV2-W18 encoder (branches 18/36/72/144 at strides 4..32; Wang et al.,
# TPAMI 2020) on the same image, fused by ContrastiveFusionHead (no pyramid
# pooling), with the training-only cross-encoder contrastive loss.
_base_ = './contrafusionnet_mit-r50-psp.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    cnn_backbone=dict(
        _delete_=True,
        type='HRNet',
        norm_cfg=norm_cfg,
        norm_eval=False,
        extra=dict(
            stage1=dict(
                num_modules=1,
                num_branches=1,
                block='BOTTLENECK',
                num_blocks=(4, ),
                num_channels=(64, )),
            stage2=dict(
                num_modules=1,
                num_branches=2,
                block='BASIC',
                num_blocks=(4, 4),
                num_channels=(18, 36)),
            stage3=dict(
                num_modules=4,
                num_branches=3,
                block='BASIC',
                num_blocks=(4, 4, 4),
                num_channels=(18, 36, 72)),
            stage4=dict(
                num_modules=3,
                num_branches=4,
                block='BASIC',
                num_blocks=(4, 4, 4, 4),
                num_channels=(18, 36, 72, 144))),
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w18')),
    decode_head=dict(cnn_in_channels=[18, 36, 72, 144], pool_scales=None))
