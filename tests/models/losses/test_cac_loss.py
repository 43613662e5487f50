"""CACLoss: pair weights and value by hand, reduction, split invariance."""
import math

import pytest
import torch
import torch.nn.functional as F

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg_contrafusion.models.losses import CACLoss, cac_pair_weights
from mmseg_contrafusion.models.utils import ConfidenceAwarePositionSampler


def build(**kwargs):
    cfg = dict(type='CACLoss', loss_weight=1.0)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def reference(z, y, q, tau, tau_b, reduction='class_balanced'):
    """CAC loss of one set by explicit loops over Python floats."""
    n = len(z)
    w = [[1 - 0.5 * (q[i][y[j]] + q[j][y[i]]) for j in range(n)]
         for i in range(n)]
    per_anchor, anchor_class = [], []
    for i in range(n):
        pos = [j for j in range(n) if j != i and y[j] == y[i]]
        if not pos:
            continue
        s = [sum(a * b for a, b in zip(z[i], z[k])) / tau for k in range(n)]
        log_den = math.log(
            sum(w[i][k] * math.exp(s[k]) for k in range(n) if k != i))
        loss = -sum(w[i][j] * (s[j] - log_den) for j in pos) / len(pos)
        per_anchor.append(loss * tau / tau_b)
        anchor_class.append(y[i])
    if reduction == 'mean':
        return sum(per_anchor) / len(per_anchor)
    by_class = {}
    for loss, c in zip(per_anchor, anchor_class):
        by_class.setdefault(c, []).append(loss)
    return sum(sum(v) / len(v) for v in by_class.values()) / len(by_class)


# Three samples: labels [0, 1, 0], weight-branch probabilities q.
Q = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]]
Y = [0, 1, 0]


def test_pair_weights_by_hand():
    w = cac_pair_weights(torch.tensor(Q), torch.tensor(Y))
    # W_ij = 1 - (q_i[y_j] + q_j[y_i]) / 2
    # W_01 = 1 - (q_0[1] + q_1[0]) / 2 = 1 - (0.2 + 0.1) / 2 = 0.85
    # W_02 = 1 - (q_0[0] + q_2[0]) / 2 = 1 - (0.7 + 0.6) / 2 = 0.35
    # W_12 = 1 - (q_1[0] + q_2[1]) / 2 = 1 - (0.1 + 0.3) / 2 = 0.80
    expected = torch.tensor([[0.3, 0.85, 0.35], [0.85, 0.2, 0.8],
                             [0.35, 0.8, 0.4]])
    assert torch.allclose(w, expected, atol=1e-6)
    assert torch.equal(w, w.t())


def test_loss_value_by_hand():
    # z = e1, e2, e1; tau = 0.5, tau_b = 0.25 (scale tau/tau_b = 2).
    # s_02 = 1 / 0.5 = 2, s_01 = s_12 = 0. Anchor 1 has no positive.
    # l_0 = -2 * W_02 * (2 - log(W_01 + W_02 e^2))
    #     = -0.7 * (2 - log(0.85 + 0.35 e^2)) = -0.535955...
    # l_2 = -0.7 * (2 - log(0.35 e^2 + 0.80)) = -0.546217...
    # Class-balanced mean: only class 0 has anchors -> (l_0 + l_2) / 2.
    # (With weights < 1 the weighted log-probability can be positive, so
    # the CAC loss can be negative; so it is in the reference code.)
    e2 = math.exp(2)
    l0 = -0.7 * (2 - math.log(0.85 + 0.35 * e2))
    l2 = -0.7 * (2 - math.log(0.35 * e2 + 0.8))
    expected = (l0 + l2) / 2
    assert expected == pytest.approx(-0.541086, abs=1e-5)
    z = torch.tensor([[1., 0.], [0., 1.], [1., 0.]])
    for weight in (1.0, 0.4):
        loss = build(
            temperature=0.5, base_temperature=0.25, loss_weight=weight)
        out = loss(z, torch.tensor(Y), torch.tensor(Q))
        assert out.item() == pytest.approx(weight * expected, rel=1e-5)


@pytest.mark.parametrize('reduction', ['class_balanced', 'mean'])
def test_matches_loop_reference(reduction):
    g = torch.Generator().manual_seed(0)
    z = F.normalize(torch.randn(9, 4, generator=g), dim=1)
    y = torch.tensor([0, 0, 0, 0, 2, 2, 3, 3, 3])
    q = torch.randn(9, 4, generator=g).softmax(dim=1)
    expected = reference(z.tolist(), y.tolist(), q.tolist(), 0.1, 0.07,
                         reduction)
    loss = build(reduction=reduction)
    assert loss(z, y, q).item() == pytest.approx(expected, rel=1e-5)


def test_class_balanced_counts_present_classes_only():
    # Classes 0 and 3 present, 1 and 2 absent. The reference code's
    # scatter-mean over max(y) + 1 = 4 bins would divide the sum of the two
    # class means by 4 instead of 2.
    g = torch.Generator().manual_seed(1)
    z = F.normalize(torch.randn(5, 3, generator=g), dim=1)
    y = torch.tensor([0, 0, 0, 3, 3])
    q = torch.randn(5, 4, generator=g).softmax(dim=1)
    loss = build()(z, y, q).item()
    # Per-anchor losses by the loop reference with one anchor at a time.
    anchor_losses = []
    for i in range(5):
        zi = z.tolist()
        w = [1 - 0.5 * (q[i][y[k]] + q[k][y[i]]).item() for k in range(5)]
        s = [sum(a * b for a, b in zip(zi[i], zi[k])) / 0.1 for k in range(5)]
        log_den = math.log(
            sum(w[k] * math.exp(s[k]) for k in range(5) if k != i))
        pos = [j for j in range(5) if j != i and y[j] == y[i]]
        anchor_losses.append(-sum(w[j] * (s[j] - log_den)
                                  for j in pos) / len(pos) * 0.1 / 0.07)
    mean0 = sum(anchor_losses[:3]) / 3
    mean3 = sum(anchor_losses[3:]) / 2
    assert loss == pytest.approx((mean0 + mean3) / 2, rel=1e-5)
    assert loss != pytest.approx((mean0 + mean3) / 4, rel=1e-3)


def test_temperature_scaling():
    g = torch.Generator().manual_seed(2)
    z = F.normalize(torch.randn(6, 3, generator=g), dim=1)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    q = torch.randn(6, 3, generator=g).softmax(dim=1)
    a = build(temperature=0.1, base_temperature=0.1)(z, y, q)
    b = build(temperature=0.1, base_temperature=0.05)(z, y, q)
    assert b.item() == pytest.approx(2 * a.item(), rel=1e-6)


def split_inputs(num_images=4, per_image=12, seed=3):
    g = torch.Generator().manual_seed(seed)
    n = num_images * per_image
    z = F.normalize(torch.randn(n, 8, generator=g), dim=1)
    y = torch.randint(0, 3, (n, ), generator=g)
    q = torch.randn(n, 3, generator=g).softmax(dim=1)
    b = torch.arange(num_images).repeat_interleave(per_image)
    return z, y, q, b


def test_batch_loss_is_the_mean_of_image_losses():
    """The exact invariance: L(batch) = mean over its images of L(image).

    So two processes holding images {0, 1} and {2, 3}, whose gradients DDP
    averages, train on the same loss as one process holding all four.
    """
    z, y, q, b = split_inputs()
    loss = build(loss_weight=0.4)
    whole = loss(z, y, q, batch_inds=b, num_images=4)
    singles = [loss(z[b == i], y[b == i], q[b == i]) for i in range(4)]
    assert whole.item() == pytest.approx(
        torch.stack(singles).mean().item(), rel=1e-6)
    halves = []
    for imgs in ([0, 1], [2, 3]):
        keep = (b == imgs[0]) | (b == imgs[1])
        halves.append(
            loss(
                z[keep],
                y[keep],
                q[keep],
                batch_inds=b[keep] - imgs[0],
                num_images=2))
    assert whole.item() == pytest.approx(
        torch.stack(halves).mean().item(), rel=1e-6)
    # Gradients too: what DDP averages over the two processes.
    z1 = z.clone().requires_grad_()
    loss(z1, y, q, batch_inds=b, num_images=4).backward()
    z2 = z.clone().requires_grad_()
    sum(
        loss(
            z2[(b == i) | (b == i + 1)],
            y[(b == i) | (b == i + 1)],
            q[(b == i) | (b == i + 1)],
            batch_inds=b[(b == i) | (b == i + 1)] - i,
            num_images=2) for i in (0, 2)).div(2).backward()
    assert torch.allclose(z1.grad, z2.grad, atol=1e-6)


def test_image_without_samples_counts_as_zero():
    z, y, q, b = split_inputs(num_images=2)
    loss = build()
    one = loss(z[b == 0], y[b == 0], q[b == 0])
    # Image 1 of 2 has no sample: the batch loss is half of image 0's.
    keep = b == 0
    two = loss(z[keep], y[keep], q[keep], batch_inds=b[keep], num_images=2)
    assert two.item() == pytest.approx(one.item() / 2, rel=1e-6)


def test_cross_image_contrasts_the_whole_set():
    z, y, q, b = split_inputs(num_images=2)
    loss = build(cross_image=True)
    assert loss(
        z, y, q, batch_inds=b).item() == pytest.approx(
            reference(z.tolist(), y.tolist(), q.tolist(), 0.1, 0.07), rel=1e-5)


def test_pair_weights_detached_by_default():
    z, y, q, _ = split_inputs(num_images=1)
    z.requires_grad_()
    logits = q.log().clone().requires_grad_()
    build()(z, y, logits.softmax(dim=1)).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert logits.grad is None
    logits.grad = None
    build(detach_pair_weights=False)(z, y, logits.softmax(dim=1)).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


@pytest.mark.parametrize('case', ['empty', 'no_positive'])
def test_degenerate_inputs_give_attached_zero(case):
    if case == 'empty':
        z = torch.zeros(0, 4, requires_grad=True)
        y = torch.zeros(0, dtype=torch.long)
        q = torch.zeros(0, 3)
        b = torch.zeros(0, dtype=torch.long)
    else:  # every class once: no anchor has a positive
        z = F.normalize(torch.randn(3, 4), dim=1).requires_grad_()
        y = torch.tensor([0, 1, 2])
        q = torch.full((3, 3), 1 / 3)
        b = torch.zeros(3, dtype=torch.long)
    out = build()(z, y, q, batch_inds=b, num_images=2)
    assert out.item() == 0
    out.backward()
    assert z.grad is not None


def test_configuration_errors():
    with pytest.raises(ValueError, match='reduction'):
        build(reduction='sum')
    with pytest.raises(ValueError, match='positive'):
        build(temperature=0.)
    assert build().loss_name == 'loss_cac'
    assert isinstance(build(), CACLoss)


def test_resize_labels_at_cell_centres():
    # Stride 32: a 64 x 64 label map, 2 x 2 embedding cells. Only the cell
    # centres (16 + 32 i, 16 + 32 j) are labelled; the top-left pixels that
    # the reference code's F.interpolate(mode='nearest') takes are not.
    label = torch.full((2, 1, 64, 64), 255)
    label[:, 0, 16::32, 16::32] = torch.tensor([[0, 1], [2, 3]])
    loss = build()
    assert loss.label_downsample == 'center'
    out = loss.resize_labels(label, (2, 2))
    assert out.shape == (2, 1, 2, 2)
    assert out[:, 0].tolist() == [[[0, 1], [2, 3]]] * 2
    assert (build(label_downsample='nearest').resize_labels(
        label, (2, 2)) == 255).all()
    assert torch.equal(
        build(label_downsample='majority').resize_labels(label, (2, 2)), out)
    with pytest.raises(ValueError, match='label_downsample'):
        build(label_downsample='bilinear')


def test_batch_rule_end_to_end_with_an_image_without_anchors():
    # Labels -> resize_labels -> CAMAS (per-image budget) -> CACLoss, for 3
    # images at stride 4: image 1 is half labelled, image 2 has no labelled
    # pixel. The loss of the 3 images on one process equals the mean of the
    # losses of 3 processes with one image each, and so do the gradients.
    g = torch.Generator().manual_seed(4)
    label = torch.randint(0, 3, (3, 1, 32, 32), generator=g)
    label[1, :, 16:] = 255
    label[2] = 255
    embeds = torch.randn(3, 8, 8, 8, generator=g, requires_grad=True)
    seg_logits = torch.randn(3, 3, 8, 8, generator=g)
    probs = torch.randn(3, 3, 8, 8, generator=g).softmax(dim=1)
    loss = build(loss_weight=0.4)
    sampler = ConfidenceAwarePositionSampler(
        max_samples_per_image=24, threshold=5)

    def run(keep):
        samples = sampler.sample(seg_logits[keep],
                                 loss.resize_labels(label[keep], (8, 8)))
        z = F.normalize(embeds[keep], dim=1)
        return loss(
            sampler.gather(z, samples),
            samples.labels,
            sampler.gather(probs[keep], samples),
            batch_inds=samples.batch_inds,
            num_images=z.shape[0])

    whole = run(slice(None))
    whole.backward()
    grad = embeds.grad.clone()
    embeds.grad = None
    singles = [run(slice(b, b + 1)) for b in range(3)]
    assert singles[1].item() != 0. and singles[2].item() == 0.
    split = torch.stack(singles).mean()
    assert whole.item() == pytest.approx(split.item(), rel=1e-6)
    split.backward()
    assert torch.allclose(embeds.grad, grad, rtol=1e-5, atol=1e-8)
    assert (embeds.grad[2] == 0).all()
