"""CACBranch with the reproduction config's settings against the released
recipe written out in float64 (configs/cac/README.md, "Reproduction
configs"): CAMAS with one budget per call, all anchors of a call contrasted
together, pair weights with their gradient, the mean over max(label) + 1
class bins; and the weight branch's loss on the head's OHEM pixels."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import PixelData

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)

REPO_ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
REPRO = osp.join(REPO_ROOT, 'configs/cac',
                 'fcn-cac_hr48_4xb2-repro-40k_cityscapes-512x1024.py')
NUM_CLASSES = 19
IGNORE = 255
STRIDE = 4
CELLS = (32, 48)  # embedding grid (h, w) of each image
# Classes and their cell counts per image: unequal numbers of classes
# (4 and 7 with more than 100 cells, T = 11 groups), classes absent below
# the largest sampled label (4, 6, 7, 9, 12 < 13), a class with too few
# cells (17) and unlabelled cells.
COUNTS = [
    {
        0: 400,
        2: 300,
        5: 250,
        13: 300,
        17: 60,
        IGNORE: 226
    },
    {
        0: 200,
        1: 180,
        3: 200,
        5: 150,
        8: 220,
        10: 200,
        11: 250,
        IGNORE: 136
    },
]
# Logit offsets of the true class: most of class 13 (image 0) predicted
# right (few hard pixels), most of class 1 (image 1) wrong (few easy ones),
# so both of the quota rule's fill-ups happen.
BIAS = [{13: 6.0}, {1: -3.0}]


def repro_cac() -> dict:
    """The ``cac`` settings of the reproduction config."""
    return Config.fromfile(REPRO).model.decode_head.cac.to_dict()


def make_batch(seed=0):
    """Cell labels, full-size labels, seg logits, features, weight logits.

    Only the top-left pixel of each 4x4 cell carries the cell's label (the
    pixel ``F.interpolate(mode='nearest')`` reads, as the released code
    does); the other pixels are unlabelled.
    """
    g = torch.Generator().manual_seed(seed)
    h, w = CELLS
    cells = []
    for counts in COUNTS:
        labels = torch.cat([torch.full((n, ), c) for c, n in counts.items()])
        assert labels.numel() == h * w
        cells.append(labels[torch.randperm(h * w, generator=g)].view(h, w))
    cells = torch.stack(cells)  # (B, h, w)
    full = torch.full((2, 1, h * STRIDE, w * STRIDE), IGNORE)
    full[:, 0, ::STRIDE, ::STRIDE] = cells
    seg_logits = torch.randn(2, NUM_CLASSES, h, w, generator=g)
    for b, bias in enumerate(BIAS):
        true = cells[b].clamp(max=NUM_CLASSES - 1)
        offset = torch.full((h, w), 1.0)
        for c, v in bias.items():
            offset[cells[b] == c] = v
        seg_logits[b].scatter_add_(0, true[None],
                                   (offset * (cells[b] != IGNORE))[None])
    feats = torch.randn(2, 16, h, w, generator=g)
    weight_logits = torch.randn(2, NUM_CLASSES, h, w, generator=g)
    return cells, full, seg_logits, feats, weight_logits


def released_anchors(cells, seg_logits, max_sample=1024, threshold=100):
    """CAMAS as the released code samples: one budget for all (image,
    class) groups of the call, n = min(max_sample // T, threshold); per
    group half hard (label c, predicted otherwise; highest p(c)) and half
    easy (predicted c; lowest p(c)), a short set giving all it has and the
    other filling up.

    Returns:
        list[tuple[int, int]]: (image, flat cell index) of the anchors.
    """
    labels = cells.flatten(1)
    probs = seg_logits.double().flatten(2).softmax(dim=1)
    pred = probs.argmax(dim=1)
    groups = [[
        c for c in torch.unique(labels[b]).tolist()
        if c != IGNORE and int((labels[b] == c).sum()) > threshold
    ] for b in range(len(labels))]
    n = min(max_sample // sum(len(g) for g in groups), threshold)
    anchors = []
    for b, classes in enumerate(groups):
        for c in classes:
            hard = ((labels[b] == c) & (pred[b] != c)).nonzero()[:, 0]
            easy = ((labels[b] == c) & (pred[b] == c)).nonzero()[:, 0]
            if len(hard) >= n / 2 and len(easy) >= n / 2:
                keep_hard = n // 2
                keep_easy = n - keep_hard
            elif len(hard) >= n / 2:
                keep_easy = len(easy)
                keep_hard = n - keep_easy
            elif len(easy) >= n / 2:
                keep_hard = len(hard)
                keep_easy = n - keep_hard
            else:
                keep_hard, keep_easy = len(hard), len(easy)
            hard = hard[probs[b, c, hard].argsort(descending=True)]
            easy = easy[probs[b, c, easy].argsort()]
            anchors += [(b, i) for i in hard[:keep_hard].tolist()]
            anchors += [(b, i) for i in easy[:keep_easy].tolist()]
    return anchors


def released_loss(z, y, q, lam=0.4, tau=0.1, tau_b=0.07):
    """The released CAC loss of one set of anchors contrasted together.

    W_ij = 1 - (q_i[y_j] + q_j[y_i]) / 2 (off the diagonal),
    l_i = -(tau / tau_b) / |P(i)| sum_{j in P(i)} W_ij
          [s_ij - log sum_{k != i} W_ik exp(s_ik)],
    then the mean over the classes 0..max(y) of the per-class mean of l_i
    (a class without anchors counts as 0), times lambda.
    """
    n = len(y)
    off_diag = ~torch.eye(n, dtype=torch.bool)
    m = 1 - q[:, y]  # m[i, j] = 1 - q_i[y_j]
    w = (m + m.t()) / 2 * off_diag
    pos = (y[:, None] == y[None, :]) & off_diag
    s = z @ z.t() / tau
    s = s - s.max(dim=1, keepdim=True).values.detach()
    log_prob = s - torch.log((w * s.exp()).sum(dim=1, keepdim=True))
    per_anchor = -(tau / tau_b) * (w * pos * log_prob).sum(dim=1) / pos.sum(
        dim=1).clamp(min=1)
    bins = [
        per_anchor[y == c].mean() if bool(
            (y == c).any()) else per_anchor.new_zeros(())
        for c in range(int(y.max()) + 1)
    ]
    return lam * torch.stack(bins).mean()


@pytest.fixture(scope='module')
def branch():
    torch.manual_seed(0)
    cfg = repro_cac()
    cfg.update(
        type='CACBranch',
        in_channels=16,
        num_classes=NUM_CLASSES,
        embed_dim=8,
        proj_channels=8,
        norm_cfg=dict(type='BN'))
    return MODELS.build(cfg)


def test_sampler_counts_follow_the_released_rule(branch):
    cells, full, seg_logits, _, _ = make_batch()
    labels = branch.loss_cac.resize_labels(full, CELLS)
    assert torch.equal(labels[:, 0], cells)  # the top-left pixel per cell
    samples = branch.sampler.sample(seg_logits, labels)
    ours = list(zip(samples.batch_inds.tolist(), samples.flat_inds.tolist()))
    expected = released_anchors(cells, seg_logits)
    assert sorted(ours) == sorted(expected)

    def counts(anchors):
        out = {}
        for b, i in anchors:
            key = (b, int(cells[b].flatten()[i]))
            out[key] = out.get(key, 0) + 1
        return out

    # T = 4 + 7 = 11 groups: n = min(1024 // 11, 100) = 93 for each of
    # them; a budget per image (512) would give image 0 100 per class.
    assert counts(ours) == counts(expected)
    assert set(counts(ours).values()) == {93}
    assert len(counts(ours)) == 11


def test_loss_and_gradients_equal_the_released_formula(branch):
    cells, full, seg_logits, feats, weight_logits = make_batch()
    feats = feats.requires_grad_()
    weight_logits = weight_logits.requires_grad_()
    loss = branch.contrast_loss(
        F.normalize(feats, dim=1), seg_logits, weight_logits, full)
    grad_feats, grad_weight = torch.autograd.grad(loss, [feats, weight_logits])

    feats64 = feats.detach().double().requires_grad_()
    weight64 = weight_logits.detach().double().requires_grad_()
    anchors = released_anchors(cells, seg_logits)
    b = torch.tensor([a[0] for a in anchors])
    i = torch.tensor([a[1] for a in anchors])
    z = F.normalize(feats64.flatten(2), dim=1)[b, :, i]
    q = weight64.flatten(2).softmax(dim=1)[b, :, i]
    y = cells.flatten(1)[b, i]
    expected = released_loss(z, y, q)
    ref_feats, ref_weight = torch.autograd.grad(expected, [feats64, weight64])

    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    for got, want in ((grad_feats, ref_feats), (grad_weight, ref_weight)):
        assert want.abs().max() > 0
        torch.testing.assert_close(
            got.double(), want, rtol=1e-4, atol=1e-5 * want.abs().max())
    # 9 classes sampled, largest label 13: the present-class mean is the
    # released value times 14 / 9.
    present = branch.loss_cac.reduction
    try:
        branch.loss_cac.reduction = 'class_balanced'
        balanced = branch.contrast_loss(
            F.normalize(feats, dim=1), seg_logits, weight_logits, full)
    finally:
        branch.loss_cac.reduction = present
    assert balanced.item() == pytest.approx(expected.item() * 14 / 9, rel=1e-5)


def head_cfg(min_kept: int) -> dict:
    """The reproduction config's head with narrow widths."""
    cfg = Config.fromfile(REPRO).model.decode_head.to_dict()
    cfg.update(
        in_channels=[4, 8, 16, 32], channels=60, norm_cfg=dict(type='BN'))
    cfg['sampler']['min_kept'] = min_kept
    cfg['cac'].update(embed_dim=8, proj_channels=8)
    return cfg


def test_weight_branch_loss_uses_class_weights_and_the_heads_ohem():
    torch.manual_seed(0)
    head = revert_sync_batchnorm(MODELS.build(head_cfg(min_kept=64))).eval()
    head.init_weights()
    g = torch.Generator().manual_seed(1)
    size = 32
    inputs = [
        torch.randn(2, c, size // 4 // 2**k, size // 4 // 2**k, generator=g)
        for k, c in enumerate([4, 8, 16, 32])
    ]

    def up(t):
        return F.interpolate(
            t, size=(size, size), mode='bilinear', align_corners=False)

    # Confident logits, and half of the pixels labelled with the predicted
    # class: those have p(true) > 0.9, so OHEM drops them.
    with torch.no_grad():
        head.conv_seg.weight.mul_(50)
        x = head._transform_inputs(inputs)
        seg = up(head.cls_seg(head._features_from(x))).double()
        weight_seg = up(head.cac_branch.weight_logits(x)).double()
    label = torch.randint(0, NUM_CLASSES, (2, 1, size, size), generator=g)
    agree = torch.rand(label.shape, generator=g) < 0.5
    label = torch.where(agree, seg.argmax(dim=1, keepdim=True), label)
    label[:, :, :4] = IGNORE
    samples = []
    for b in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label[b])
        samples.append(sample)
    losses = head.loss(inputs, samples, dict())
    y = label[:, 0]
    valid = y != IGNORE
    y0 = y.clamp(max=NUM_CLASSES - 1)
    # OHEM (thresh 0.9, min_kept per image) on the segmentation logits.
    p_true = seg.softmax(dim=1).gather(1, y0[:, None])[:, 0]
    ranked = p_true[valid].sort().values
    threshold = max(ranked[min(64 * 2, ranked.numel() - 1)].item(), 0.9)
    kept = valid & (p_true < threshold)
    assert 0 < int(kept.sum()) < int(valid.sum())
    class_weight = torch.tensor(
        Config.fromfile(REPRO).class_weight, dtype=torch.float64)
    ce = -weight_seg.log_softmax(dim=1).gather(1, y0[:, None])[:, 0]
    # mmseg 1.x divides a class-weighted CE by the labels' class weights
    # (an ignored pixel counting 1, mmseg_contrafusion.compat), where the
    # released code's mmseg 0.28 divides by the number of pixels.
    factor = (class_weight[y0] * valid).sum() + (~valid).sum()
    expected = 1.5 * (kept * class_weight[y0] * ce).sum() / factor
    assert losses['loss_ce_weight'].item() == pytest.approx(
        expected.item(), rel=1e-5)


def test_reproduction_branch_layers_and_init():
    torch.manual_seed(0)
    head = revert_sync_batchnorm(MODELS.build(head_cfg(min_kept=64)))
    head.init_weights()
    branch = head.cac_branch
    assert branch.proj.residual and branch.share_pixel_sampler
    # Weight branch: one 1x1 ConvModule at the head's width, then the
    # classifier; every conv Kaiming-initialised (fan_out, zero bias), as
    # mmcv's ConvModule does, not mmseg's N(0, 0.01) of conv_seg.
    (conv, ) = [m.conv for m in branch.weight_convs]
    assert conv.kernel_size == (1, 1) and conv.out_channels == 60
    for layer in (branch.weight_cls, branch.proj.out):
        fan_out = layer.out_channels
        std = layer.weight.std().item()
        assert std == pytest.approx((2 / fan_out)**0.5, rel=0.2)
        assert torch.all(layer.bias == 0)
