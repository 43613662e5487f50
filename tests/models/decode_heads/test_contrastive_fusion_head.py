"""ContrastiveFusionHead: shapes per fusion type and variant, losses, DDP."""
import pytest
import torch
from mmengine.structures import PixelData

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules
from mmseg_contrafusion.models.segmentors import DualFeats

register_all_modules(init_default_scope=True)

T_CHANNELS = [8, 16, 32, 64]
C_CHANNELS = [12, 24, 48, 96]
NUM_CLASSES = 5
SIZE = 64


def head_cfg(**kwargs):
    cfg = dict(
        type='ContrastiveFusionHead',
        transformer_in_channels=T_CHANNELS,
        cnn_in_channels=C_CHANNELS,
        channels=16,
        pool_scales=(1, 2, 3),
        ppm_channels=8,
        contrast_levels=(2, 3),
        embed_dim=8,
        num_classes=NUM_CLASSES,
        dropout_ratio=0.1,
        norm_cfg=dict(type='BN', requires_grad=True),
        loss_decode=[
            dict(
                type='CrossEntropyLoss', loss_weight=1.0, loss_name='loss_ce'),
            dict(
                type='DiceLoss',
                use_sigmoid=False,
                naive_dice=True,
                loss_name='loss_dice')
        ],
        loss_contrast=dict(
            type='CrossEncoderContrastLoss', max_samples_per_image=32))
    cfg.update(kwargs)
    return cfg


def stream(channels, batch=2):
    if channels is None:
        return None
    return [
        torch.randn(batch, c, SIZE // 4 // 2**i, SIZE // 4 // 2**i)
        for i, c in enumerate(channels)
    ]


def both_streams(batch=2):
    return DualFeats(stream(T_CHANNELS, batch), stream(C_CHANNELS, batch))


def data_samples(batch=2):
    samples = []
    for _ in range(batch):
        label = torch.randint(0, NUM_CLASSES, (1, SIZE, SIZE))
        label[:, :4] = 255
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return samples


@pytest.mark.parametrize('fusion', ['gated', 'sum', 'concat'])
@pytest.mark.parametrize('variant', ['psp', 'hrnet'])
def test_forward_shapes(fusion, variant):
    pool_scales = (1, 2, 3) if variant == 'psp' else None
    head = MODELS.build(head_cfg(fusion=fusion, pool_scales=pool_scales))
    head.init_weights()
    head.eval()
    out = head(both_streams())
    assert out.shape == (2, NUM_CLASSES, SIZE // 4, SIZE // 4)
    losses = head.train().loss(both_streams(), data_samples(), None)
    assert set(losses) == {'loss_ce', 'loss_dice', 'loss_contrast', 'acc_seg'}


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(fusion='concat', top_down=True),
    dict(pool_scales=None, contrast_levels=(0, 1, 2, 3)),
])
def test_every_parameter_gets_gradient(kwargs):
    # DDP without find_unused_parameters needs every parameter in the graph.
    head = MODELS.build(head_cfg(**kwargs)).train()
    losses = head.loss(both_streams(), data_samples(), None)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    missing = [n for n, p in head.named_parameters() if p.grad is None]
    assert not missing


def test_forward_runs_no_contrastive_module():
    head = MODELS.build(head_cfg()).train()

    def fail(*args, **kwargs):
        raise AssertionError('contrastive module called in forward')

    for module in [
            head.contrast.loss_contrast, *head.contrast.transformer_projs,
            *head.contrast.cnn_projs
    ]:
        module.register_forward_pre_hook(fail)
    out = head(both_streams())
    assert out.shape[1] == NUM_CLASSES


def test_contrast_loss_is_its_own_term():
    head = MODELS.build(head_cfg()).train()
    losses = head.loss(both_streams(), data_samples(), None)
    assert losses['loss_contrast'] > 0
    # The projection heads read the pre-fusion laterals, so the contrast
    # gradient reaches each stream's lateral projection.
    head.zero_grad()
    losses['loss_contrast'].backward()
    for convs in (head.front_end.transformer_convs, head.front_end.cnn_convs):
        grads = [p.grad for p in convs[3].parameters()]
        assert all(g is not None and g.abs().sum() > 0 for g in grads)
    assert head.conv_seg.weight.grad is None


@pytest.mark.parametrize('stream_name', ['transformer', 'cnn'])
def test_single_stream(stream_name):
    if stream_name == 'transformer':
        cfg = head_cfg(
            cnn_in_channels=None, pool_scales=None, loss_contrast=None)
        inputs = DualFeats(stream(T_CHANNELS), None)
    else:
        cfg = head_cfg(transformer_in_channels=None, loss_contrast=None)
        inputs = DualFeats(None, stream(C_CHANNELS))
    head = MODELS.build(cfg)
    assert head.front_end.fusions is None and head.contrast is None
    assert head.streams == (stream_name, )
    assert head(inputs).shape == (2, NUM_CLASSES, SIZE // 4, SIZE // 4)
    losses = head.loss(inputs, data_samples(), None)
    assert 'loss_contrast' not in losses
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(p.grad is not None for p in head.parameters())


def test_no_contrast_builds_no_projection_head():
    head = MODELS.build(head_cfg(loss_contrast=None))
    assert head.contrast is None and not head.with_contrast
    assert not any('proj' in name for name, _ in head.named_parameters())


def test_configuration_errors():
    with pytest.raises(ValueError, match='both streams'):
        MODELS.build(head_cfg(cnn_in_channels=None, pool_scales=None))
    with pytest.raises(ValueError, match='at least one'):
        MODELS.build(
            head_cfg(transformer_in_channels=None, cnn_in_channels=None))
    with pytest.raises(ValueError, match='fusion'):
        MODELS.build(head_cfg(fusion='mul'))
    with pytest.raises(ValueError, match='contrast_levels'):
        MODELS.build(head_cfg(contrast_levels=(4, )))
    with pytest.raises(ValueError, match='levels'):
        MODELS.build(head_cfg(cnn_in_channels=[1, 2]))
    head = MODELS.build(head_cfg())
    with pytest.raises(ValueError, match='cnn stream'):
        head(DualFeats(stream(T_CHANNELS), None))
    with pytest.raises(TypeError, match='DualFeats'):
        head(stream(T_CHANNELS))
    with pytest.raises(TypeError, match='DualFeats'):
        head((stream(T_CHANNELS), stream(C_CHANNELS)))  # a bare pair


def test_model_init_weights_starts_every_gate_at_one_half():
    """``model.init_weights()`` (what the Runner calls) reaches the fusion
    blocks inside the head's module lists: each gate starts at 0.5."""
    import os.path as osp

    from mmengine.config import Config

    from mmseg_contrafusion.utils import strip_pretrained
    repo = osp.dirname(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    cfg = Config.fromfile(
        osp.join(
            repo, 'configs/contrafusionnet/'
            'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py'))
    strip_pretrained(cfg.model)
    model = MODELS.build(cfg.model)
    gates = [block.gate for block in model.decode_head.front_end.fusions]
    assert gates and all(gate.weight.abs().sum() > 0 for gate in gates)
    model.init_weights()
    for gate in gates:
        assert torch.count_nonzero(gate.weight) == 0
        assert torch.count_nonzero(gate.bias) == 0
    x = torch.randn(1, 2 * gates[0].out_channels, 4, 4)
    assert torch.allclose(torch.sigmoid(gates[0](x)), torch.tensor(0.5))


@pytest.mark.parametrize('fusion', ['gated', 'sum', 'concat'])
@pytest.mark.parametrize('top_down', [False, True])
@pytest.mark.parametrize('align_corners', [False, True])
def test_inference_decoder_equals_the_stacked_path(fusion, top_down,
                                                   align_corners):
    """decode() applies fusion_conv per level before resizing: the logits of
    the stacked path that training (and CAC) uses, to float rounding."""
    head = MODELS.build(
        head_cfg(
            fusion=fusion, top_down=top_down, align_corners=align_corners))
    assert head._fusion_conv_is_pointwise()
    # Non-trivial BN statistics, so that the affine part is exercised.
    head.fusion_conv.norm.running_mean.uniform_(-1, 1)
    head.fusion_conv.norm.running_var.uniform_(0.5, 2)
    head.eval()
    with torch.no_grad():
        fused = head.fuse(both_streams()).fused
        stacked = head.classify(head.stack_levels(fused))
        fast = head.decode(fused)
    assert fast.shape == stacked.shape == (2, NUM_CLASSES, SIZE // 4,
                                           SIZE // 4)
    assert torch.allclose(fast, stacked, atol=1e-5, rtol=1e-5)
