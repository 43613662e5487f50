# The ContraFusionNet seed's schedule: Adam, lr 1e-4 (constant), 100 epochs
# over the training set (2975 Cityscapes images). Use it with
# ../datasets/cityscapes_512x512_seed.py (batch 1 per GPU, epoch sampling).
optimizer = dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.0)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=True)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # mmseg_contrafusion: stop on a NaN/inf loss term, naming it; check that
    # the heads predict as many classes as the dataset has and that a loaded
    # checkpoint belongs to the model.
    finite_loss=dict(type='FiniteLossHook'),
    num_class_check=dict(type='NumClassCheckHook'),
    checkpoint_match=dict(type='CheckpointMatchHook'))
