"""contrastive_kernel against explicit-loop references on tiny inputs."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmseg_contrafusion.models.losses import (class_balanced_mean,
                                              class_bin_mean,
                                              contrastive_kernel)


def reference(anchors,
              contrast,
              pos,
              *,
              tau,
              tau_b=None,
              weights=None,
              valid=None,
              exclude_self=False,
              denominator='supcon'):
    """Per-anchor losses by explicit loops in float64 Python math."""
    a = anchors.double().tolist()
    c = contrast.double().tolist()
    n, m = len(a), len(c)
    out = []
    for i in range(n):
        s = [sum(x * y for x, y in zip(a[i], c[j])) / tau for j in range(m)]
        ok = [(valid is None or bool(valid[i][j]))
              and not (exclude_self and i == j) for j in range(m)]
        w = [
            1.0 if weights is None else float(weights[i][j]) for j in range(m)
        ]
        positives = [j for j in range(m) if ok[j] and bool(pos[i][j])]
        negatives = [j for j in range(m) if ok[j] and not bool(pos[i][j])]
        if not positives:
            out.append(None)
            continue
        total = 0.
        for j in positives:
            if denominator == 'supcon':
                den = sum(w[k] * math.exp(s[k]) for k in range(m) if ok[k])
            else:
                den = math.exp(s[j]) + sum(w[k] * math.exp(s[k])
                                           for k in negatives)
            total += w[j] * (s[j] - math.log(den))
        loss = -total / len(positives)
        if tau_b is not None:
            loss *= tau / tau_b
        out.append(loss)
    return out


def unit(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g), dim=1)


def mean_of(values):
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept)


def test_infonce_by_hand():
    # Two anchors, two contrast samples, positives on the diagonal: the loss
    # is the cross-entropy of each row of similarities / tau.
    a = torch.tensor([[1., 0.], [0., 1.]])
    c = torch.tensor([[0.6, 0.8], [0.8, -0.6]])
    tau = 0.5
    s = (a @ c.t() / tau).tolist()
    # s = [[1.2, 1.6], [1.6, -1.2]]
    expected = 0.5 * ((-s[0][0] + math.log(math.exp(1.2) + math.exp(1.6))) +
                      (-s[1][1] + math.log(math.exp(1.6) + math.exp(-1.2))))
    pos = torch.eye(2, dtype=torch.bool)
    for denominator in ('supcon', 'per_positive'):
        loss = contrastive_kernel(
            a, c, pos, temperature=tau, denominator=denominator)
        assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert F.cross_entropy(a @ c.t() / tau, torch.arange(2)).item() == \
        pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('denominator', ['supcon', 'per_positive'])
def test_matches_reference_with_weights_and_masks(denominator):
    a, c = unit(5, 4, 0), unit(6, 4, 1)
    la = torch.tensor([0, 1, 1, 2, 0])
    lc = torch.tensor([1, 0, 1, 2, 2, 0])
    pos = la[:, None] == lc[None, :]
    weights = torch.rand(5, 6, generator=torch.Generator().manual_seed(2))
    valid = torch.rand(5, 6, generator=torch.Generator().manual_seed(3)) > .2
    per_anchor = contrastive_kernel(
        a,
        c,
        pos,
        temperature=0.1,
        base_temperature=0.07,
        pair_weights=weights,
        valid_mask=valid,
        denominator=denominator,
        reduction='none')
    ref = reference(
        a,
        c,
        pos,
        tau=0.1,
        tau_b=0.07,
        weights=weights,
        valid=valid,
        denominator=denominator)
    for got, want in zip(per_anchor.tolist(), ref):
        assert got == pytest.approx(
            0. if want is None else want, rel=1e-5, abs=1e-6)
    mean = contrastive_kernel(
        a,
        c,
        pos,
        temperature=0.1,
        base_temperature=0.07,
        pair_weights=weights,
        valid_mask=valid,
        denominator=denominator)
    assert mean.item() == pytest.approx(mean_of(ref), rel=1e-5)


def test_self_contrast_supcon_and_class_balanced_reduction():
    # SupCon over one set: pairs (i, i) excluded; anchor 4 is alone in its
    # class, so it has no positive and is left out of every reduction.
    z = unit(5, 3, 4)
    labels = torch.tensor([0, 0, 1, 1, 2])
    pos = labels[:, None] == labels[None, :]
    ref = reference(z, z, pos, tau=0.2, exclude_self=True)
    assert ref[4] is None
    per_anchor = contrastive_kernel(
        z, None, pos, temperature=0.2, reduction='none')
    assert per_anchor[4].item() == 0.
    for got, want in zip(per_anchor.tolist()[:4], ref[:4]):
        assert got == pytest.approx(want, rel=1e-5)
    balanced = contrastive_kernel(
        z,
        None,
        pos,
        temperature=0.2,
        anchor_labels=labels,
        reduction='class_balanced')
    expected = ((ref[0] + ref[1]) / 2 + (ref[2] + ref[3]) / 2) / 2
    assert balanced.item() == pytest.approx(expected, rel=1e-5)


def test_class_balanced_mean_ignores_absent_classes():
    values = torch.tensor([1., 3., 10., 7.])
    labels = torch.tensor([0, 0, 5, 9])
    # Classes 0, 5, 9 present: (2 + 10 + 7) / 3, not a mean over 10 bins.
    assert class_balanced_mean(values, labels).item() == pytest.approx(19 / 3)
    valid = torch.tensor([True, True, False, True])
    assert class_balanced_mean(values, labels, valid).item() == \
        pytest.approx(4.5)


def test_class_bin_mean_counts_absent_classes_below_the_largest():
    values = torch.tensor([1., 3., 10., 7.])
    labels = torch.tensor([0, 0, 5, 9])
    # 10 bins (0..9): 2, 10 and 7 in bins 0, 5 and 9, zeros elsewhere.
    assert class_bin_mean(values, labels).item() == pytest.approx(19 / 10)
    empty = torch.zeros(0, requires_grad=True)
    out = class_bin_mean(empty, torch.zeros(0, dtype=torch.long))
    assert out.item() == 0 and out.requires_grad


def test_class_bins_reduction_keeps_anchors_without_positive():
    """'class_bins': an anchor without a positive is a 0 in its class's
    bin, and classes absent below the largest label are bins of 0."""
    z = unit(5, 4, 11)
    labels = torch.tensor([0, 0, 3, 3, 3])
    labels_lone = torch.tensor([0, 0, 3, 3, 2])  # anchor 4 has no positive
    for y in (labels, labels_lone):
        pos = y[:, None] == y[None, :]
        per_anchor = contrastive_kernel(
            z, None, pos, temperature=0.2, reduction='none')
        bins = contrastive_kernel(
            z,
            None,
            pos,
            temperature=0.2,
            anchor_labels=y,
            reduction='class_bins')
        means = [
            per_anchor[y == c].mean().item() if bool((y == c).any()) else 0.
            for c in range(int(y.max()) + 1)
        ]
        assert bins.item() == pytest.approx(sum(means) / len(means), rel=1e-6)
    with pytest.raises(ValueError, match='anchor_labels'):
        contrastive_kernel(z, None, pos, reduction='class_bins')


def test_no_positive_gives_attached_zero():
    a = unit(3, 4, 5).requires_grad_()
    c = unit(3, 4, 6).requires_grad_()
    pos = torch.zeros(3, 3, dtype=torch.bool)
    loss = contrastive_kernel(a, c, pos)
    assert loss.item() == 0. and loss.requires_grad
    loss.backward()
    assert torch.equal(a.grad, torch.zeros_like(a))
    empty = torch.zeros(0, 4, requires_grad=True)
    loss = contrastive_kernel(empty, c, torch.zeros(0, 3, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0. and not torch.isnan(loss)


def test_fp32_and_no_overflow():
    # Half inputs and a tiny temperature: exp(1/0.01) overflows fp16 and
    # even fp32 without the row-max shift.
    a = unit(4, 8, 7).half()
    c = unit(4, 8, 8).half()
    pos = torch.eye(4, dtype=torch.bool)
    loss = contrastive_kernel(a, c, pos, temperature=0.001)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    ref = F.cross_entropy(a.float() @ c.float().t() / 0.001, torch.arange(4))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-4)


def test_argument_errors():
    a = unit(2, 2, 9)
    pos = torch.eye(2, dtype=torch.bool)
    with pytest.raises(ValueError):
        contrastive_kernel(a, a, pos, denominator='bad')
    with pytest.raises(ValueError):
        contrastive_kernel(a, a, pos, reduction='class_balanced')
    with pytest.raises(ValueError):
        contrastive_kernel(a, a, pos[:1])


def saved_bytes(fn):
    """Bytes of the tensors autograd keeps for backward while ``fn`` runs."""
    total = [0]

    def pack(t):
        total[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, total[0]


@pytest.mark.parametrize('denominator,reduction',
                         [('supcon', 'class_balanced'),
                          ('per_positive', 'mean')])
def test_with_cp_same_loss_and_gradients_less_kept(denominator, reduction):
    n, m = 64, 48
    labels_a = torch.arange(n) % 5
    labels_c = torch.arange(m) % 4
    pos = labels_a[:, None] == labels_c[None, :]
    base_a, base_c = unit(n, 8, 4), unit(m, 8, 5)
    base_w = torch.rand(n, m, generator=torch.Generator().manual_seed(6))
    results = []
    for with_cp in (False, True):
        a = base_a.clone().requires_grad_()
        c = base_c.clone().requires_grad_()
        w = base_w.clone().requires_grad_()
        loss, kept = saved_bytes(lambda: contrastive_kernel(
            a,
            c,
            pos,
            temperature=0.1,
            pair_weights=w,
            denominator=denominator,
            anchor_labels=labels_a,
            reduction=reduction,
            with_cp=with_cp))
        loss.backward()
        results.append((loss.detach(), a.grad, c.grad, w.grad, kept))
    (l0, ga0, gc0, gw0, kept0), (l1, ga1, gc1, gw1, kept1) = results
    assert torch.equal(l0, l1)
    for g0, g1 in ((ga0, ga1), (gc0, gc1), (gw0, gw1)):
        torch.testing.assert_close(g1, g0, rtol=1e-6, atol=1e-7)
    # Without checkpointing several (N, M) float tensors are kept; with it
    # only the inputs (the weights are one (N, M) float tensor).
    pair = n * m * 4
    assert kept0 > 4 * pair
    assert kept1 < 1.5 * pair + pos.numel()


def test_with_cp_without_grad_is_plain():
    a, c = unit(6, 4, 7), unit(5, 4, 8)
    pos = torch.rand(6, 5, generator=torch.Generator().manual_seed(9)) > .5
    plain = contrastive_kernel(a, c, pos)
    assert torch.equal(contrastive_kernel(a, c, pos, with_cp=True), plain)
