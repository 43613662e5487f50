# The same ablations on Cityscapes with the full-size ContraFusionNet
# (MiT-B2 + ResNetV1c-50 with PPM, 8 GPUs x 1 image, 160k iterations): the
# grid for a GPU cluster, e.g.
#   python tools/analysis/ablation.py \
#       configs/ablations/contrafusionnet_cityscapes.py --gpus 8
# Each variant is a config of configs/contrafusionnet/ (or cac/, mscs/).
title = 'Ablations: ContraFusionNet (MiT-B2 + R50-PSP) on Cityscapes'
notes = """\
Cityscapes val (500 images), 512x512 crops, 160k iterations on 8 GPUs,
ImageNet-pretrained encoders; mIoU is single-scale whole-image inference."""
_cfn = 'configs/contrafusionnet/'
_schedule = '_8xb1-160k_cityscapes-512x512.py'
base = _cfn + 'contrafusionnet_mit-b2-r50-psp' + _schedule
reference = 'full'
seeds = 3
variants = [
    dict(name='full', description='both encoders, gated, pixel, tau 0.07'),
    dict(
        name='no_contrast',
        description='no contrastive loss',
        config=_cfn + 'contrafusionnet-nocontrast_mit-b2-r50-psp' + _schedule),
    dict(
        name='transformer_only',
        description='MiT-B2 alone',
        config=_cfn + 'contrafusionnet_mit-b2' + _schedule),
    dict(
        name='cnn_only',
        description='R50 + PPM alone',
        config=_cfn + 'contrafusionnet_r50-psp' + _schedule),
    dict(
        name='tau0.2',
        description='temperature 0.2',
        config=_cfn + 'contrafusionnet-tau0.2_mit-b2-r50-psp' + _schedule),
    dict(
        name='tau0.05',
        description='temperature 0.05',
        config=_cfn + 'contrafusionnet-tau0.05_mit-b2-r50-psp' + _schedule),
    dict(
        name='tau0.1',
        description='temperature 0.1',
        config=_cfn + 'contrafusionnet-tau0.1_mit-b2-r50-psp' + _schedule),
    dict(
        name='fusion_sum',
        description='sum fusion',
        config=_cfn + 'contrafusionnet-sum_mit-b2-r50-psp' + _schedule),
    dict(
        name='fusion_concat',
        description='concat fusion',
        config=_cfn + 'contrafusionnet-concat_mit-b2-r50-psp' + _schedule),
    dict(
        name='contrast_class',
        description='class-level contrast',
        config=_cfn + 'contrafusionnet-class_mit-b2-r50-psp' + _schedule),
    dict(
        name='cac',
        description='+ CAC',
        config='configs/cac/contrafusionnet-cac_mit-b2-r50-psp' + _schedule),
    dict(
        name='mscs',
        description='+ MS/CS',
        config='configs/mscs/contrafusionnet-mscs_mit-b2-r50-psp' + _schedule),
]
