# A tiny ContraFusionNet for the reproducibility tests (crash/resume and
# distributed equivalence), on the generated Cityscapes-layout data:
# - GroupNorm instead of (Sync)BN, so a batch of 2 on one process and a
#   batch of 1 on each of two processes normalise the same way;
# - no dropout, no drop path and no random transforms (every image resized
#   to 64x64), so the contrastive sampler is the only random part of a step;
# - cross-entropy averaged over all pixels (avg_non_ignore=False), so the
#   loss of a batch of equally sized images is the mean of per-image losses;
# - seed 0, deterministic mode, checkpoints every 2 of 6 iterations, no
#   validation.
_base_ = [
    '../../../configs/contrafusionnet/'
    'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py'
]
crop_size = (64, 64)
norm_cfg = dict(type='GN', num_groups=4, requires_grad=True)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    cnn_backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(
        norm_cfg=norm_cfg,
        dropout_ratio=0.0,
        loss_decode=[
            dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                avg_non_ignore=False,
                loss_weight=1.0,
                loss_name='loss_ce'),
            dict(
                type='DiceLoss',
                use_sigmoid=False,
                naive_dice=True,
                loss_weight=1.0,
                loss_name='loss_dice'),
        ],
        # Contrast at strides 8 and 16 (8x8 and 4x4 maps of a 64x64 image)
        # with a budget below their labelled pixels, so the draw matters.
        contrast_levels=(1, 2),
        loss_contrast=dict(max_samples_per_image=8, seed=0)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = None
val_evaluator = None
val_cfg = None
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
# The learning rate changes every iteration (warm-up, then decay), so the
# scheduler state matters at resume.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(
        type='PolyLR', eta_min=1e-5, power=1.0, by_epoch=False, begin=4, end=6)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0, deterministic=True)
