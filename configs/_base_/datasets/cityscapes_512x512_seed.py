# Cityscapes loaded as the ContraFusionNet seed loads it, for the seed-schedule
# configs (`*_1xb1-100e_*`, with ../schedules/schedule_seed_100e.py): one image
# per GPU, shuffled epochs, and the seed's augmentation only. The mmseg-style
# configs keep the stronger recipe of ./cityscapes_512x512.py (random resize
# 0.5-2.0, 512x512 crop, flip, photometric distortion).
#
# What the seed does (reference/contrafusionnet-seed-audit.md, sections 2.5
# and 4): its code resizes every whole 2048x1024 frame to 512x512 (aspect
# 2:1 -> 1:1; PIL LANCZOS for the image, NEAREST for the label) and applies
# nothing else; its README names "random cropping, horizontal flipping" with a
# 512x512 crop. So: the fixed 512x512 resize first (PIL, as the seed), then a
# 512x512 random crop (after that resize, the whole frame) and a horizontal
# flip. The seed gives no flip probability: 0.5, the default of torchvision's
# RandomHorizontalFlip and of mmseg. No RandomResize, no
# PhotoMetricDistortion, no cat_max_ratio.
_base_ = './cityscapes.py'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='Resize',
        scale=(512, 512),
        keep_ratio=False,
        backend='pillow',
        interpolation='lanczos'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackSegInputs')
]
# Evaluation sees frames as training does (resized to 512x512); annotations
# are loaded after the resize, so the metric compares the prediction (resized
# back to 2048x1024 by the segmentor) with the full-resolution labels.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='Resize',
        scale=(512, 512),
        keep_ratio=False,
        backend='pillow',
        interpolation='lanczos'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# Multi-scale + flip test-time augmentation around the seed's 512x512 input.
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_scales = [(int(512 * r), int(512 * r)) for r in img_ratios]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(
                    type='Resize',
                    scale=scale,
                    keep_ratio=False,
                    backend='pillow',
                    interpolation='lanczos') for scale in tta_scales
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
        ])
]
train_dataloader = dict(
    batch_size=1,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
