"""CACFCNHead and CAC on ContrastiveFusionHead: losses, grads, inference."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)

NUM_CLASSES = 4
SIZE = 32  # label size; features at stride 4 -> 8x8
HR_CHANNELS = [4, 8, 16, 32]
CAC = dict(
    embed_dim=8,
    sampler=dict(max_samples_per_image=32, threshold=4),
    weight_branch_loss=dict(loss_weight=1.5))


def fcn_cfg(**kwargs):
    cfg = dict(
        type='CACFCNHead',
        in_channels=HR_CHANNELS,
        in_index=(0, 1, 2, 3),
        channels=sum(HR_CHANNELS),
        input_transform='resize_concat',
        kernel_size=1,
        num_convs=1,
        concat_input=False,
        dropout_ratio=-1,
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0),
        cac=CAC)
    cfg.update(kwargs)
    return cfg


def fcn_plain_cfg():
    cfg = fcn_cfg(type='FCNHead')
    cfg.pop('cac')
    return cfg


def hr_feats(batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(
            batch, c, SIZE // 4 // 2**i, SIZE // 4 // 2**i, generator=g)
        for i, c in enumerate(HR_CHANNELS)
    ]


def data_samples(batch=2, ignore_all=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(batch):
        # Blocks of 8x8 pixels, one class each: groups of 4 at stride 4.
        label = torch.randint(0, NUM_CLASSES, (1, 1, 4, 4), generator=g)
        label = F.interpolate(label.float(), size=(SIZE, SIZE)).long()[0]
        if ignore_all:
            label[:] = 255
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return samples


def total(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def test_loss_keys_and_inference_unchanged():
    torch.manual_seed(0)
    head = MODELS.build(fcn_cfg())
    head.init_weights()
    losses = head.train().loss(hr_feats(), data_samples(), None)
    assert set(losses) == {'loss_ce', 'loss_cac', 'loss_ce_weight', 'acc_seg'}
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert losses['loss_cac'] != 0
    # The inference path is FCNHead's: same weights, same logits.
    plain = MODELS.build(fcn_plain_cfg())
    missing, unexpected = plain.load_state_dict(
        head.state_dict(), strict=False)
    assert not missing and all(k.startswith('cac_branch.') for k in unexpected)
    head.eval()
    plain.eval()
    with torch.no_grad():
        assert torch.equal(head(hr_feats()), plain(hr_feats()))


def test_forward_runs_no_cac_module():
    head = MODELS.build(fcn_cfg()).train()

    def fail(*args, **kwargs):
        raise AssertionError('CAC module called in forward')

    for module in head.cac_branch.modules():
        module.register_forward_pre_hook(fail)
    assert head(hr_feats()).shape == (2, NUM_CLASSES, SIZE // 4, SIZE // 4)
    # predict (the test path) goes through forward as well.
    metas = [dict(img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE))] * 2
    assert head.predict(hr_feats(), metas, None).shape[1] == NUM_CLASSES


@pytest.mark.parametrize('case', ['normal', 'warmup', 'all_ignore'])
def test_every_parameter_gets_gradient(case):
    # DDP without find_unused_parameters: every parameter in the graph, also
    # while the CAC weight is 0 (warm-up) and on an all-ignore batch.
    head = MODELS.build(fcn_cfg()).train()
    if case == 'warmup':
        head.cac_branch.loss_cac.loss_weight = 0.
    losses = head.loss(hr_feats(),
                       data_samples(ignore_all=case == 'all_ignore'), None)
    if case != 'normal':
        assert losses['loss_cac'].item() == 0
    assert all(torch.isfinite(v).all() for v in losses.values())
    total(losses).backward()
    missing = [n for n, p in head.named_parameters() if p.grad is None]
    assert not missing


def test_gradient_paths():
    head = MODELS.build(fcn_cfg()).train()
    feats = [f.requires_grad_() for f in hr_feats()]
    losses = head.loss(feats, data_samples(), None)
    branch = head.cac_branch
    # The weight branch reads detached features: its CE reaches neither
    # the head's input nor the projection head.
    losses['loss_ce_weight'].backward(retain_graph=True)
    assert all(f.grad is None for f in feats)
    assert branch.weight_cls.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in branch.proj.parameters())
    # loss_cac reaches the input (the encoder) through the projection head,
    # but not the weight branch (q detached) nor the classifier.
    head.zero_grad()
    losses['loss_cac'].backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)
    assert all(p.grad.abs().sum() > 0 for p in branch.proj.parameters())
    assert branch.weight_cls.weight.grad is None or \
        branch.weight_cls.weight.grad.abs().sum() == 0
    assert head.conv_seg.weight.grad is None


def test_contrast_loss_does_not_depend_on_the_split():
    """Sampler + loss of a batch = mean of the same on its halves.

    (BN statistics are the only other batch coupling; SyncBN, as in the
    configs, makes them those of the whole batch on every process.)
    """
    torch.manual_seed(0)
    branch = MODELS.build(
        dict(type='CACBranch', in_channels=8, num_classes=NUM_CLASSES, **CAC))
    g = torch.Generator().manual_seed(5)
    embeds = F.normalize(torch.randn(4, 8, 8, 8, generator=g), dim=1)
    seg_logits = torch.randn(4, NUM_CLASSES, 8, 8, generator=g)
    weight_logits = torch.randn(4, NUM_CLASSES, 8, 8, generator=g)
    label = torch.stack(
        [s.gt_sem_seg.data for s in data_samples(batch=4, seed=3)])
    whole = branch.contrast_loss(embeds, seg_logits, weight_logits, label)
    halves = [
        branch.contrast_loss(embeds[i:i + 2], seg_logits[i:i + 2],
                             weight_logits[i:i + 2], label[i:i + 2])
        for i in (0, 2)
    ]
    singles = [
        branch.contrast_loss(embeds[i:i + 1], seg_logits[i:i + 1],
                             weight_logits[i:i + 1], label[i:i + 1])
        for i in range(4)
    ]
    assert whole.item() != 0
    assert whole.item() == pytest.approx(
        torch.stack(halves).mean().item(), rel=1e-6)
    assert whole.item() == pytest.approx(
        torch.stack(singles).mean().item(), rel=1e-6)


def test_no_cac_is_a_plain_fcn_head():
    head = MODELS.build(fcn_cfg(cac=None))
    assert head.cac_branch is None and not head.with_cac
    losses = head.loss(hr_feats(), data_samples(), None)
    assert set(losses) == {'loss_ce', 'acc_seg'}


def test_configuration_errors():
    with pytest.raises(ValueError, match='softmax'):
        MODELS.build(
            fcn_cfg(
                num_classes=2,
                out_channels=1,
                loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True)))
    with pytest.raises(ValueError, match='loss_'):
        MODELS.build(fcn_cfg(cac=dict(loss_cac=dict(loss_name='cac'))))


# ---------------------------------------------------------------- fusion head
T_CHANNELS = [8, 16, 32, 64]
C_CHANNELS = [12, 24, 48, 96]


def fusion_cfg(**kwargs):
    cfg = dict(
        type='ContrastiveFusionHead',
        transformer_in_channels=T_CHANNELS,
        cnn_in_channels=C_CHANNELS,
        channels=16,
        pool_scales=(1, 2),
        ppm_channels=8,
        embed_dim=8,
        num_classes=NUM_CLASSES,
        dropout_ratio=0.1,
        norm_cfg=dict(type='BN', requires_grad=True),
        loss_decode=[
            dict(type='CrossEntropyLoss', loss_name='loss_ce'),
            dict(
                type='DiceLoss',
                use_sigmoid=False,
                naive_dice=True,
                loss_name='loss_dice')
        ],
        loss_contrast=dict(
            type='CrossEncoderContrastLoss', max_samples_per_image=16),
        cac=CAC)
    cfg.update(kwargs)
    return cfg


def streams(batch=2):
    from mmseg_contrafusion.models.segmentors import DualFeats
    return DualFeats(*([
        torch.randn(batch, c, SIZE // 4 // 2**i, SIZE // 4 // 2**i)
        for i, c in enumerate(channels)
    ] for channels in (T_CHANNELS, C_CHANNELS)))


def test_fusion_head_with_cac():
    torch.manual_seed(0)
    head = MODELS.build(fusion_cfg()).train()
    assert head.with_cac and head.cac_branch.in_channels == 16 * 4
    losses = head.loss(streams(), data_samples(), None)
    assert set(losses) == {
        'loss_ce', 'loss_dice', 'loss_contrast', 'loss_cac', 'loss_ce_weight',
        'acc_seg'
    }
    total(losses).backward()
    assert not [n for n, p in head.named_parameters() if p.grad is None]

    # Inference: no CAC module runs, and the logits are those of the same
    # head without CAC.
    def fail(*args, **kwargs):
        raise AssertionError('CAC module called in forward')

    for module in head.cac_branch.modules():
        module.register_forward_pre_hook(fail)
    plain = MODELS.build(fusion_cfg(cac=None))
    assert plain.cac_branch is None and not plain.with_cac
    plain.load_state_dict(head.state_dict(), strict=False)
    head.eval()
    plain.eval()
    inputs = streams()
    with torch.no_grad():
        assert torch.equal(head(inputs), plain(inputs))


def test_fusion_head_all_ignore_and_warmup():
    head = MODELS.build(fusion_cfg()).train()
    head.cac_branch.loss_cac.loss_weight = 0.
    losses = head.loss(streams(), data_samples(ignore_all=True), None)
    assert losses['loss_cac'].item() == 0
    assert all(torch.isfinite(v).all() for v in losses.values())
    total(losses).backward()
    assert not [n for n, p in head.named_parameters() if p.grad is None]
