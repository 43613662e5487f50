"""strip_pretrained: random init for tests, demo and benchmarks."""
from mmseg_contrafusion.utils import strip_pretrained


def test_strip_pretrained_clears_nested_init_cfg():
    model = dict(
        type='DualEncoder',
        pretrained='open-mmlab://resnet50_v1c',
        backbone=dict(
            type='MixVisionTransformer',
            init_cfg=dict(type='Pretrained', checkpoint='mit_b2.pth')),
        cnn_encoder=dict(
            type='HRNet',
            init_cfg=[
                dict(type='Pretrained', checkpoint='hrnet.pth'),
                dict(type='Constant', val=1, layer='BatchNorm2d')
            ]),
        decode_head=dict(
            type='ContrastiveFusionHead',
            init_cfg=dict(type='Normal', std=0.01)))
    strip_pretrained(model)
    assert model['pretrained'] is None
    assert model['backbone']['init_cfg'] is None
    assert model['cnn_encoder']['init_cfg'] == [
        dict(type='Constant', val=1, layer='BatchNorm2d')
    ]
    assert model['decode_head']['init_cfg'] == dict(type='Normal', std=0.01)
