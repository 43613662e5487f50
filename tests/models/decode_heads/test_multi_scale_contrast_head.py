"""MultiScaleContrastHead on single encoders and on each DualEncoder stream."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import PixelData

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)

REPO_ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFN_TINY = osp.join(
    REPO_ROOT, 'configs/contrafusionnet/'
    'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
SIZE = 64
BN = dict(type='BN', requires_grad=True)


def mscs_head(in_channels, **loss):
    return dict(
        type='MultiScaleContrastHead',
        in_channels=in_channels,
        embed_dim=16,
        num_classes=19,
        norm_cfg=BN,
        loss_contrast=dict(
            type='MultiScaleCrossScaleContrastLoss',
            max_samples_per_image=64,
            min_pixels=1,
            **loss))


def batch(num=2, ignore_all=False):
    inputs = torch.randn(num, 3, SIZE, SIZE)
    samples = []
    for _ in range(num):
        label = torch.randint(0, 4, (1, SIZE, SIZE))
        label[:, :, :8] = 255
        if ignore_all:
            label[:] = 255
        sample = SegDataSample(
            metainfo=dict(
                ori_shape=(SIZE, SIZE),
                img_shape=(SIZE, SIZE),
                pad_shape=(SIZE, SIZE),
                padding_size=[0, 0, 0, 0]))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return inputs, samples


def loss_sum(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def test_head_embeds_and_loss_keys():
    torch.manual_seed(0)
    head = MODELS.build(mscs_head([8, 16, 32, 64]))
    head.init_weights()
    assert not hasattr(head, 'conv_seg')
    feats = [
        torch.randn(2, c, SIZE // s, SIZE // s)
        for c, s in zip((8, 16, 32, 64), (4, 8, 16, 32))
    ]
    embeds = head(feats)
    assert [tuple(e.shape) for e in embeds] == [(2, 16, SIZE // s, SIZE // s)
                                                for s in (4, 8, 16, 32)]
    for e in embeds:
        assert torch.allclose(e.norm(dim=1), torch.ones(1), atol=1e-5)
    _, samples = batch()
    losses = head.loss(feats, samples, dict())
    assert set(losses) == {'loss_ms', 'loss_cs'}
    assert losses['loss_ms'] > 0 and losses['loss_cs'] > 0
    loss_sum(losses).backward()
    assert not [n for n, p in head.named_parameters() if p.grad is None]


def test_checkpointed_projections_keep_the_loss_and_gradients():
    """with_cp (the default) recomputes the projection heads in backward:
    the same samples give the same loss terms and gradients."""
    torch.manual_seed(0)
    heads = [
        MODELS.build(dict(mscs_head([8, 16, 32, 64]), with_cp=with_cp))
        for with_cp in (False, True)
    ]
    heads[1].load_state_dict(heads[0].state_dict())
    assert heads[1].projections[0].with_cp
    _, samples = batch()
    results = []
    for head in heads:
        torch.manual_seed(1)
        feats = [
            torch.randn(2, c, SIZE // s, SIZE // s, requires_grad=True)
            for c, s in zip((8, 16, 32, 64), (4, 8, 16, 32))
        ]
        losses = head.loss(feats, samples, dict())
        loss_sum(losses).backward()
        results.append((losses, [f.grad for f in feats]))
    (plain, plain_grads), (cp, cp_grads) = results
    for key in ('loss_ms', 'loss_cs'):
        assert torch.allclose(plain[key], cp[key], atol=1e-6), key
    for a, b in zip(plain_grads, cp_grads):
        assert torch.allclose(a, b, atol=1e-6)


def test_head_has_no_prediction():
    head = MODELS.build(mscs_head([8, 16, 32, 64]))
    feats = [torch.randn(1, c, 4, 4) for c in (8, 16, 32, 64)]
    with pytest.raises(RuntimeError, match='training-only'):
        head.predict(feats, [dict(img_shape=(16, 16))], dict())
    with pytest.raises(RuntimeError, match='training-only'):
        head.cls_seg(feats[0])


def test_head_validation():
    with pytest.raises(ValueError, match='in_index'):
        MODELS.build(dict(mscs_head([8, 16, 32]), in_index=(0, 1)))
    with pytest.raises(ValueError, match='scales'):
        MODELS.build(
            dict(
                mscs_head([8, 16, 32],
                          scale_weights=(1., 1., 1.),
                          cross_scale_pairs=((0, 2), ),
                          cross_scale_weights=(1., )),
                in_channels=[8, 16, 32, 64]))
    with pytest.raises(TypeError, match='embed_dim'):
        MODELS.build(dict(mscs_head([8, 16, 32, 64]), channels=8))


TINY_HRNET = dict(
    type='HRNet',
    norm_cfg=BN,
    extra=dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(1, ),
            num_channels=(8, )),
        stage2=dict(
            num_modules=1,
            num_branches=2,
            block='BASIC',
            num_blocks=(1, 1),
            num_channels=(8, 16)),
        stage3=dict(
            num_modules=1,
            num_branches=3,
            block='BASIC',
            num_blocks=(1, 1, 1),
            num_channels=(8, 16, 32)),
        stage4=dict(
            num_modules=1,
            num_branches=4,
            block='BASIC',
            num_blocks=(1, 1, 1, 1),
            num_channels=(8, 16, 32, 64))))
TINY_RESNET = dict(
    type='ResNetV1c',
    depth=18,
    stem_channels=8,
    base_channels=8,
    out_indices=(0, 1, 2, 3),
    norm_cfg=BN)
TINY_MIT = dict(
    type='MixVisionTransformer',
    embed_dims=8,
    num_layers=[1, 1, 1, 1],
    num_heads=[1, 2, 4, 8],
    mlp_ratio=2)
ENCODERS = {
    'hrnet': (TINY_HRNET, [8, 16, 32, 64]),
    'resnet': (TINY_RESNET, [8, 16, 32, 64]),
    'mit': (TINY_MIT, [8, 16, 32, 64]),
}


@pytest.mark.parametrize('encoder', sorted(ENCODERS))
def test_auxiliary_head_of_encoder_decoder(encoder):
    backbone, widths = ENCODERS[encoder]
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=32),
        backbone=backbone,
        decode_head=dict(
            type='FCNHead',
            in_channels=widths[-1],
            in_index=3,
            channels=8,
            num_convs=1,
            concat_input=False,
            num_classes=19,
            norm_cfg=BN),
        auxiliary_head=mscs_head(widths),
        test_cfg=dict(mode='whole'))
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(cfg))
    model.init_weights()
    model.train()
    losses = model.loss(*batch())
    assert {'decode.loss_ce', 'aux.loss_ms', 'aux.loss_cs'} <= set(losses)
    loss_sum(losses).backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]
    # An all-ignore batch: zero contrastive terms, finite backward.
    model.zero_grad()
    losses = model.loss(*batch(ignore_all=True))
    assert losses['aux.loss_ms'].item() == losses['aux.loss_cs'].item() == 0
    loss_sum(losses).backward()
    # Inference never touches the auxiliary head.
    model.eval()
    with torch.no_grad():
        result = model.predict(*batch(1))
    assert result[0].pred_sem_seg.shape == (SIZE, SIZE)


def dual_cfg(**kwargs):
    cfg = copy.deepcopy(Config.fromfile(CFN_TINY).model)
    cfg.data_preprocessor.size = None
    cfg.data_preprocessor.size_divisor = 32
    cfg.decode_head.loss_contrast = None
    cfg.update(kwargs)
    return cfg


def test_dual_encoder_one_head_per_stream():
    heads = [mscs_head([16, 32, 64, 128]), mscs_head([16, 32, 64, 128])]
    torch.manual_seed(0)
    model = revert_sync_batchnorm(
        MODELS.build(
            dual_cfg(
                auxiliary_head=heads, auxiliary_stream=['transformer',
                                                        'cnn'])))
    model.train()
    losses = model.loss(*batch())
    assert {
        'aux_0.loss_ms', 'aux_0.loss_cs', 'aux_1.loss_ms', 'aux_1.loss_cs'
    } <= set(losses)
    # Head 0 reads the transformer, head 1 the CNN.
    for key, stream, other in (('aux_0', 'backbone', 'cnn_backbone'),
                               ('aux_1', 'cnn_backbone', 'backbone')):
        model.zero_grad()
        losses = model.loss(*batch())
        (losses[f'{key}.loss_ms'] + losses[f'{key}.loss_cs']).backward()
        grads = {
            name:
            sum(p.grad.abs().sum() for p in getattr(model, name).parameters()
                if p.grad is not None)
            for name in (stream, other)
        }
        assert grads[stream] > 0 and grads[other] == 0


def test_dual_encoder_stream_validation():
    heads = [mscs_head([16, 32, 64, 128]), mscs_head([16, 32, 64, 128])]
    # One name for every head still works.
    model = MODELS.build(
        dual_cfg(auxiliary_head=heads, auxiliary_stream='transformer'))
    assert model._aux_streams == ['transformer', 'transformer']
    with pytest.raises(ValueError, match='one per head'):
        MODELS.build(dual_cfg(auxiliary_head=heads, auxiliary_stream=['cnn']))
    with pytest.raises(ValueError, match='auxiliary_stream must be'):
        MODELS.build(
            dual_cfg(auxiliary_head=heads, auxiliary_stream=['cnn', 'vit']))
    cfg = dual_cfg(
        auxiliary_head=heads, auxiliary_stream=['transformer', 'cnn'])
    cfg.cnn_backbone = None
    cfg.decode_head.cnn_in_channels = None
    cfg.decode_head.pool_scales = None
    with pytest.raises(ValueError, match='cnn encoder is None'):
        MODELS.build(cfg)
