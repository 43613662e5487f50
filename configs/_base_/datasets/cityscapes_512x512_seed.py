# Cityscapes 512x512 crops loaded as the ContraFusionNet seed trains: one
# image per GPU, shuffled epochs (for ../schedules/schedule_seed_100e.py).
_base_ = './cityscapes_512x512.py'
train_dataloader = dict(
    batch_size=1, sampler=dict(type='DefaultSampler', shuffle=True))
