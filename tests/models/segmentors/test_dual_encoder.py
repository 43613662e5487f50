"""DualEncoder: every mmseg segmentor behaviour, on the tiny config."""
import copy
import os.path as osp

import numpy as np
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
TINY_CONFIG = osp.join(
    REPO_ROOT, 'configs/contrafusionnet/'
    'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
SIZE = 64
NUM_CLASSES = 19

TINY_HRNET = dict(
    type='HRNet',
    norm_cfg=dict(type='BN', requires_grad=True),
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


def tiny_cfg():
    cfg = Config.fromfile(TINY_CONFIG).model
    cfg.data_preprocessor.size = None
    cfg.data_preprocessor.size_divisor = 32
    return copy.deepcopy(cfg)


def build(cfg):
    model = revert_sync_batchnorm(MODELS.build(cfg))
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return build(tiny_cfg())


def batch(num=2, size=(SIZE, SIZE)):
    inputs = torch.randn(num, 3, *size)
    samples = []
    for _ in range(num):
        label = torch.randint(0, 4, (1, *size))
        label[:, :, :8] = 255
        sample = SegDataSample(
            metainfo=dict(
                ori_shape=size,
                img_shape=size,
                pad_shape=size,
                padding_size=[0, 0, 0, 0]))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return inputs, samples


def loss_sum(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def test_extract_feat_runs_both_encoders(model):
    feats = model.extract_feat(torch.randn(1, 3, SIZE, SIZE))
    assert type(feats).__name__ == 'DualFeats'
    t_feats, c_feats = feats.transformer, feats.cnn
    assert [f.shape[1] for f in t_feats] == [16, 32, 64, 128]
    assert [f.shape[1] for f in c_feats] == [16, 32, 64, 128]
    for t, c, stride in zip(t_feats, c_feats, (4, 8, 16, 32)):
        assert t.shape[2:] == c.shape[2:] == (SIZE // stride, SIZE // stride)
    assert model.encoder_mode == 'dual'


def test_loss_keys_and_every_parameter_trained(model):
    model.train()
    model.zero_grad()
    losses = model.loss(*batch())
    assert {
        'decode.loss_ce', 'decode.loss_dice', 'decode.loss_contrast',
        'decode.acc_seg'
    } <= set(losses)
    total, log_vars = model.parse_losses(losses)
    assert {'decode.loss_ce', 'decode.loss_dice',
            'decode.loss_contrast'} <= set(log_vars)
    total.backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]


def test_contrast_gradient_reaches_both_encoders(model):
    model.train()
    model.zero_grad()
    losses = model.loss(*batch())
    losses['decode.loss_contrast'].backward()
    for encoder in (model.backbone, model.cnn_backbone):
        grad = sum(p.grad.abs().sum() for p in encoder.parameters()
                   if p.grad is not None)
        assert grad > 0
    # Only the contrastive branch: the classifier gets nothing.
    assert model.decode_head.conv_seg.weight.grad is None


def test_batch_without_labelled_pixels(model):
    model.train()
    model.zero_grad()
    inputs, samples = batch()
    for sample in samples:
        sample.gt_sem_seg.data[:] = 255
    losses = model.loss(inputs, samples)
    assert losses['decode.loss_contrast'].item() == 0.
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert all(
        torch.isfinite(p.grad).all() for p in model.parameters()
        if p.grad is not None)


def test_predict_whole_slide_and_tensor_mode(model):
    inputs, samples = batch(1, (SIZE, 96))
    model.eval()
    with torch.no_grad():
        whole = model.predict(inputs, copy.deepcopy(samples))
        model.test_cfg = ConfigDict(
            mode='slide', crop_size=(64, 64), stride=(32, 32))
        try:
            slide = model.predict(inputs, copy.deepcopy(samples))
        finally:
            model.test_cfg = ConfigDict(mode='whole')
        logits = model(inputs, mode='tensor')
        model.train()
        logits_train = model(inputs, mode='tensor')
    for result in (whole[0], slide[0]):
        assert result.pred_sem_seg.shape == (SIZE, 96)
        assert result.seg_logits.data.shape == (NUM_CLASSES, SIZE, 96)
    assert logits.shape == logits_train.shape == (1, NUM_CLASSES, 16, 24)


@pytest.mark.parametrize('mode', ['transformer', 'cnn'])
def test_single_encoder_modes(mode):
    cfg = tiny_cfg()
    cfg.decode_head.loss_contrast = None
    if mode == 'transformer':
        cfg.cnn_backbone = None
        cfg.decode_head.cnn_in_channels = None
        cfg.decode_head.pool_scales = None
    else:
        cfg.backbone = None
        cfg.decode_head.transformer_in_channels = None
    model = build(cfg)
    assert model.encoder_mode == mode
    feats = model.extract_feat(torch.randn(1, 3, SIZE, SIZE))
    assert (feats.transformer is None) == (mode == 'cnn')
    assert (feats.cnn is None) == (mode == 'transformer')
    losses = model.loss(*batch())
    assert 'decode.loss_contrast' not in losses
    loss_sum(losses).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, SIZE, SIZE)).shape[1] == NUM_CLASSES


def test_head_and_encoders_must_agree():
    cfg = tiny_cfg()
    cfg.cnn_backbone = None
    with pytest.raises(ValueError, match='cnn'):
        MODELS.build(cfg)
    cfg = tiny_cfg()
    cfg.backbone = None
    cfg.cnn_backbone = None
    with pytest.raises(ValueError, match='needs backbone'):
        MODELS.build(cfg)


def test_auxiliary_head_on_cnn_stream():
    cfg = tiny_cfg()
    cfg.auxiliary_head = dict(
        type='FCNHead',
        in_channels=64,
        in_index=2,
        channels=16,
        num_convs=1,
        concat_input=False,
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='BN'),
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))
    model = build(cfg)
    losses = model.loss(*batch())
    assert 'aux.loss_ce' in losses
    loss_sum(losses).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_hrnet_variant():
    cfg = tiny_cfg()
    cfg.cnn_backbone = TINY_HRNET
    cfg.decode_head.cnn_in_channels = [8, 16, 32, 64]
    cfg.decode_head.pool_scales = None
    model = build(cfg)
    losses = model.loss(*batch())
    assert losses['decode.loss_contrast'] > 0
    loss_sum(losses).backward()
    model.eval()
    with torch.no_grad():
        out = model.predict(*batch(1))
    assert out[0].pred_sem_seg.shape == (SIZE, SIZE)


def test_test_time_augmentation(model):
    tta = MODELS.build(dict(type='SegTTAModel', module=model)).eval()
    images = [torch.randint(0, 255, (3, SIZE, SIZE), dtype=torch.uint8)]
    flipped = [images[0].flip(-1)]
    metas = []
    for flip in (False, True):
        sample = SegDataSample(
            metainfo=dict(
                ori_shape=(SIZE, SIZE),
                img_shape=(SIZE, SIZE),
                pad_shape=(SIZE, SIZE),
                flip=flip,
                flip_direction='horizontal' if flip else None,
                img_path='x.png'))
        metas.append([sample])
    with torch.no_grad():
        results = tta.test_step(
            dict(inputs=[images, flipped], data_samples=metas))
    assert results[0].pred_sem_seg.shape == (SIZE, SIZE)


def test_init_model_and_inference_model():
    from mmseg.apis import inference_model, init_model
    model = init_model(TINY_CONFIG, checkpoint=None, device='cpu')
    model = revert_sync_batchnorm(model)
    image = np.random.randint(0, 255, (SIZE, 2 * SIZE, 3), dtype=np.uint8)
    result = inference_model(model, image)
    assert result.pred_sem_seg.shape == (SIZE, 2 * SIZE)


def test_flop_counter_traces_the_model(model):
    from mmengine.analysis import get_model_complexity_info
    model.eval()
    info = get_model_complexity_info(
        model,
        inputs=torch.randn(1, 3, SIZE, SIZE),
        show_table=False,
        show_arch=False)
    assert info['flops'] > 0
    assert info['params'] == sum(p.numel() for p in model.parameters())


def test_decode_head_must_read_dual_feats():
    """The segmentor checks its head against the two-stream contract at
    build time, with one clear error."""
    cfg = tiny_cfg()
    cfg.decode_head = dict(
        type='SegformerHead',
        in_channels=[16, 32, 64, 128],
        in_index=[0, 1, 2, 3],
        channels=16,
        num_classes=NUM_CLASSES)
    with pytest.raises(TypeError, match='not a TwoStreamDecodeHead'):
        MODELS.build(cfg)


def ecfd_head(**streams):
    return dict(
        type='ECFDHead',
        channels=16,
        embed_dims=16,
        num_heads=2,
        gate_channels=4,
        pos_shape=(4, 4),
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='BN'),
        **streams)


def test_transformer_only_dual_encoder_with_ecfd_builds_and_runs():
    cfg = tiny_cfg()
    cfg.cnn_backbone = None
    cfg.decode_head = ecfd_head(transformer_in_channels=[16, 32, 64, 128])
    model = build(cfg)
    losses = model.loss(*batch())
    assert {'decode.loss_ce', 'decode.acc_seg'} <= set(losses)
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, SIZE, SIZE)).shape[1] == NUM_CLASSES
    # Built for a single ordinary backbone, the head is refused up front.
    cfg.decode_head = ecfd_head(in_channels=[16, 32, 64, 128])
    with pytest.raises(ValueError, match='ignores the transformer stream'):
        MODELS.build(cfg)


def test_dual_ecfd_gets_the_cross_encoder_contrast():
    cfg = tiny_cfg()
    cfg.decode_head = ecfd_head(
        transformer_in_channels=[16, 32, 64, 128],
        cnn_in_channels=cfg.decode_head.cnn_in_channels,
        fusion_channels=16,
        loss_contrast=dict(
            type='CrossEncoderContrastLoss', max_samples_per_image=16))
    model = build(cfg)
    losses = model.loss(*batch())
    assert losses['decode.loss_contrast'] > 0
