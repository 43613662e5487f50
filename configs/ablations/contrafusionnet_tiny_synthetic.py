# The ContraFusionNet README's ablations (ICIP 2025: no contrastive loss,
# a single encoder, the temperature) and the other parts of the method, at
# tiny widths on the generated street scenes: runnable on a CPU.
#   python tools/analysis/ablation.py \
#       configs/ablations/contrafusionnet_tiny_synthetic.py
# Data: 128 training and 64 validation scenes (512x256), made by
#   python tools/dataset_converters/make_synthetic_cityscapes.py \
#       data/synthetic_cityscapes_ablation --num-train 128 --num-val 64
#   python tools/dataset_converters/cityscapes.py \
#       data/synthetic_cityscapes_ablation
title = 'Ablations: tiny ContraFusionNet on the generated street scenes'
notes = """\
These are synthetic street scenes (512x256, 19 Cityscapes classes) and a
ContraFusionNet at tiny widths (MiT 16-128 with one block per stage,
ResNet-18 at a quarter width), trained from random init for a short CPU
schedule: the effects of the method's parts at this scale, not on
Cityscapes. Effects that need pretrained encoders, real textures or a long
schedule can be absent here, and effects seen here need not carry over.
The Cityscapes grid is `configs/ablations/contrafusionnet_cityscapes.py`
(for GPUs)."""
_schedule = '_2xb2-400it_synthetic-256x256.py'
base = 'configs/contrafusionnet/contrafusionnet_tiny' + _schedule
reference = 'full'
seeds = 1
_data = 'data/synthetic_cityscapes_ablation/'
_iters = 400
# One process with 4 images per step: the 2xb2 configs' batch.
cfg_options = {
    'train_dataloader.batch_size': 4,
    'train_dataloader.dataset.data_root': _data,
    'val_dataloader.dataset.data_root': _data,
    'test_dataloader.dataset.data_root': _data,
    'train_cfg.max_iters': _iters,
    'train_cfg.val_interval': _iters // 4,
    'param_scheduler.1.end': _iters,
    'default_hooks.checkpoint.interval': _iters // 4,
    'default_hooks.logger.interval': 20,
}
variants = [
    dict(
        name='full',
        seeds=3,
        description='both encoders, gated fusion, pixel contrast, tau 0.07'),
    dict(
        name='no_contrast',
        seeds=3,
        description='no contrastive loss',
        cfg_options={'model.decode_head.loss_contrast': None}),
    dict(
        name='transformer_only',
        seeds=3,
        description='MiT alone (SegFormer-like), no contrast',
        config='configs/contrafusionnet/contrafusionnet_tiny-mit' + _schedule),
    dict(
        name='cnn_only',
        seeds=3,
        description='ResNet + PPM alone, no contrast',
        cfg_options={
            'model.backbone': None,
            'model.decode_head.transformer_in_channels': None,
            'model.decode_head.loss_contrast': None,
        }),
    dict(
        name='tau0.2',
        seeds=3,
        description='temperature 0.2',
        cfg_options={'model.decode_head.loss_contrast.temperature': 0.2}),
    dict(
        name='tau0.05',
        description='temperature 0.05',
        cfg_options={'model.decode_head.loss_contrast.temperature': 0.05}),
    dict(
        name='tau0.1',
        description='temperature 0.1',
        cfg_options={'model.decode_head.loss_contrast.temperature': 0.1}),
    dict(
        name='fusion_sum',
        description='sum fusion',
        cfg_options={'model.decode_head.fusion': 'sum'}),
    dict(
        name='fusion_concat',
        description='concat fusion',
        cfg_options={'model.decode_head.fusion': 'concat'}),
    dict(
        name='contrast_class',
        description='class-level contrast',
        cfg_options={'model.decode_head.loss_contrast.mode': 'class'}),
    dict(
        name='cac',
        description='+ CAC on the fused levels',
        config='configs/cac/contrafusionnet-cac_tiny' + _schedule),
    dict(
        name='mscs',
        description='+ MS/CS auxiliary contrast',
        config='configs/mscs/contrafusionnet-mscs_tiny' + _schedule),
]
