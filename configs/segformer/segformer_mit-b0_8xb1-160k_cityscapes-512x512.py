# SegFormer MiT-B0 on Cityscapes at 512x512 crop with mmseg's SegFormer
# schedule: 160k iterations, 8 GPUs x 1 image, AdamW 6e-5 (head lr x10),
# 1500-iteration linear warm-up then poly (../_base_/schedules/
# schedule_adamw_160k.py, as ContraFusionNet). mmseg only ships a
# 1024x1024-crop Cityscapes SegFormer (segformer/segformer_mit-b0_8xb1-160k_
# cityscapes-1024x1024.py); this is the same model and schedule at the
# table's crop, so its numbers are not mmseg's official ones.
_base_ = [
    '../_base_/models/segformer_mit-b0.py',
    '../_base_/datasets/cityscapes_512x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_adamw_160k.py'
]
custom_imports = dict(
    imports=['mmseg_contrafusion'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth'  # noqa
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    # As mmseg's Cityscapes SegFormer: sliding windows of the training crop
    # (stride 341 as ContraFusionNet).
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
train_dataloader = dict(batch_size=1, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
