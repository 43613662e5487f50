# The generated street scenes in Cityscapes layout (512x256 images), the
# default data of `make demo` and the tests. Create them with
#   python tools/dataset_converters/make_synthetic_cityscapes.py \
#       data/synthetic_cityscapes
#   python tools/dataset_converters/cityscapes.py data/synthetic_cityscapes
_base_ = './cityscapes.py'
data_root = '{{$SYNTHETIC_CITYSCAPES_ROOT:data/synthetic_cityscapes/}}'
crop_size = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(512, 256),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 256), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
