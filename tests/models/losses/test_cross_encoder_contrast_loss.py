"""CrossEncoderContrastLoss: hand-computed cases, empty labels, memory."""
import math

import pytest
import torch
import torch.nn.functional as F

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg_contrafusion.models.losses import CrossEncoderContrastLoss
from mmseg_contrafusion.models.losses import \
    cross_encoder_contrast_loss as loss_module


def build(**kwargs):
    cfg = dict(type='CrossEncoderContrastLoss', loss_weight=1.0)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def reference(anchors, contrast, labels, mode, tau):
    """Mean over anchors of the InfoNCE / SupCon loss, by explicit loops."""
    total = 0.
    for i, a in enumerate(anchors):
        s = [sum(x * y for x, y in zip(a, c)) / tau for c in contrast]
        log_den = math.log(sum(math.exp(v) for v in s))
        if mode == 'pixel':
            positives = [i]
        else:
            positives = [
                j for j in range(len(contrast)) if labels[j] == labels[i]
            ]
        total += -sum(s[j] - log_den for j in positives) / len(positives)
    return total / len(anchors)


def as_map(vectors, h, w):
    """(h*w, D) list -> (1, D, h, w) tensor."""
    return torch.tensor(vectors).t().reshape(1, -1, h, w)


def test_hand_computed_orthonormal_case():
    # Positions with labels [0, 1, 1, ignored]; both streams e1, e2, e2;
    # tau = 1. Transformer -> CNN rows of similarities: [1, 0, 0] and twice
    # [0, 1, 1], so the InfoNCE of the rows is -1 + log(e + 2) and
    # -1 + log(1 + 2e); class mode gives the same (the two positives of
    # anchors 1 and 2 have equal similarity), and both directions agree.
    e1, e2 = [1., 0.], [0., 1.]
    emb = as_map([e1, e2, e2, e1], 2, 2)
    label = torch.tensor([[[0, 1], [1, 255]]])
    expected = ((-1 + math.log(math.e + 2)) + 2 *
                (-1 + math.log(1 + 2 * math.e))) / 3
    assert expected == pytest.approx(0.7585, abs=1e-4)
    for mode in ('pixel', 'class'):
        for directions in ('t2c', 'c2t', 'both'):
            loss = build(mode=mode, temperature=1.0, directions=directions)
            assert loss(emb, emb.clone(), label).item() == pytest.approx(
                expected, rel=1e-6)


@pytest.mark.parametrize('mode', ['pixel', 'class'])
def test_both_directions_against_reference(mode):
    g = torch.Generator().manual_seed(0)
    t = F.normalize(torch.randn(1, 3, 2, 3, generator=g), dim=1)
    c = F.normalize(torch.randn(1, 3, 2, 3, generator=g), dim=1)
    label = torch.tensor([[[0, 1, 1], [2, 255, 0]]])
    keep = [0, 1, 2, 3, 5]  # flat positions with a label
    t_vec = t.flatten(2)[0].t()[keep].tolist()
    c_vec = c.flatten(2)[0].t()[keep].tolist()
    labels = label.flatten()[keep].tolist()
    t2c = reference(t_vec, c_vec, labels, mode, 0.07)
    c2t = reference(c_vec, t_vec, labels, mode, 0.07)
    assert t2c != pytest.approx(c2t)
    for directions, want in (('t2c', t2c), ('c2t', c2t), ('both',
                                                          (t2c + c2t) / 2)):
        loss = build(
            mode=mode,
            temperature=0.07,
            directions=directions,
            loss_weight=0.5)
        assert loss(t, c, label).item() == pytest.approx(0.5 * want, rel=1e-5)


def test_class_mode_positives_are_all_same_class_samples():
    # Anchor 0 (class 0) has positives at CNN positions 0 and 2.
    t = as_map([[1., 0.], [0., 1.], [0., 1.]], 1, 3)
    c = as_map([[1., 0.], [0., 1.], [0.6, 0.8]], 1, 3)
    label = torch.tensor([[[0, 1, 0]]])
    labels = [0, 1, 0]
    tv, cv = t.flatten(2)[0].t().tolist(), c.flatten(2)[0].t().tolist()
    for mode in ('pixel', 'class'):
        loss = build(mode=mode, temperature=0.5, directions='t2c')
        assert loss(t, c, label).item() == pytest.approx(
            reference(tv, cv, labels, mode, 0.5), rel=1e-6)


def test_gradients_reach_both_streams():
    g = torch.Generator().manual_seed(1)
    t_raw = torch.randn(2, 4, 6, 6, generator=g, requires_grad=True)
    c_raw = torch.randn(2, 4, 6, 6, generator=g, requires_grad=True)
    label = torch.randint(0, 3, (2, 1, 24, 24), generator=g)
    loss = build()(F.normalize(t_raw, dim=1), F.normalize(c_raw, dim=1), label)
    loss.backward()
    assert t_raw.grad.abs().sum() > 0 and c_raw.grad.abs().sum() > 0


def test_no_labelled_pixel_gives_zero_that_backpropagates():
    t = torch.randn(2, 4, 4, 4, requires_grad=True)
    c = torch.randn(2, 4, 4, 4, requires_grad=True)
    label = torch.full((2, 16, 16), 255)
    for mode in ('pixel', 'class'):
        loss = build(mode=mode)([F.normalize(t, dim=1)],
                                [F.normalize(c, dim=1)], label)
        assert loss.item() == 0. and not torch.isnan(loss)
        loss.backward()
        assert t.grad is not None and torch.isfinite(t.grad).all()
        assert c.grad is not None and torch.isfinite(c.grad).all()


def test_loss_does_not_depend_on_batch_split():
    # The whole budget fits, so every labelled position is sampled: the loss
    # of a batch is the mean of the per-image losses (same-image negatives).
    g = torch.Generator().manual_seed(2)
    t = F.normalize(torch.randn(2, 8, 4, 4, generator=g), dim=1)
    c = F.normalize(torch.randn(2, 8, 4, 4, generator=g), dim=1)
    label = torch.randint(0, 4, (2, 4, 4), generator=g)
    loss = build(max_samples_per_image=64)
    whole = loss(t, c, label)
    halves = (loss(t[:1], c[:1], label[:1]) + loss(t[1:], c[1:], label[1:]))
    assert whole.item() == pytest.approx(halves.item() / 2, rel=1e-6)


def test_levels_resolution_and_ignore():
    g = torch.Generator().manual_seed(3)
    label = torch.randint(0, 3, (2, 1, 32, 32), generator=g)
    label[:, :, :16] = 255
    t = [
        F.normalize(torch.randn(2, 4, s, s, generator=g), dim=1)
        for s in (8, 4)
    ]
    # A CNN map of another size is resized to the transformer map's size.
    c = [
        F.normalize(torch.randn(2, 4, s, s, generator=g), dim=1)
        for s in (8, 5)
    ]
    loss = build(mode='class', reduction='class_balanced')(t, c, label)
    assert torch.isfinite(loss) and loss > 0


def test_memory_bounded_by_budget(monkeypatch):
    # A 512x1024 label map with full-resolution embeddings: the similarity
    # matrices are budget x budget, never (H*W) x (H*W).
    shapes = []
    kernel = loss_module.contrastive_kernel

    def spy(anchors, contrast, pos_mask, **kwargs):
        shapes.append((anchors.shape[0], contrast.shape[0]))
        return kernel(anchors, contrast, pos_mask, **kwargs)

    monkeypatch.setattr(loss_module, 'contrastive_kernel', spy)
    g = torch.Generator().manual_seed(4)
    label = torch.randint(0, 19, (1, 512, 1024), generator=g)
    t = F.normalize(torch.randn(1, 4, 512, 1024, generator=g), dim=1)
    c = F.normalize(torch.randn(1, 4, 512, 1024, generator=g), dim=1)
    t.requires_grad_()
    budget = 128
    with torch.profiler.profile(profile_memory=True) as prof:
        loss = CrossEncoderContrastLoss(max_samples_per_image=budget)(t, c,
                                                                      label)
        loss.backward()
    assert shapes and all(n <= budget and m <= budget for n, m in shapes)
    # No single op allocates more than a few copies of the 8 MB inputs.
    biggest = max(e.cpu_memory_usage for e in prof.events())
    assert biggest < 64 * 2**20


def test_argument_errors():
    with pytest.raises(ValueError):
        CrossEncoderContrastLoss(mode='image')
    with pytest.raises(ValueError):
        CrossEncoderContrastLoss(directions='up')
    with pytest.raises(ValueError):
        CrossEncoderContrastLoss(temperature=0.)
    loss = CrossEncoderContrastLoss()
    assert loss.loss_name == 'loss_contrast'
    with pytest.raises(ValueError):
        loss([torch.zeros(1, 2, 2, 2)], [], torch.zeros(1, 2, 2))


def _split_inputs(seed=5, budget_px=20):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(2, 8, 10, 10, generator=g, requires_grad=True)
    c = torch.randn(2, 8, 10, 10, generator=g, requires_grad=True)
    label = torch.randint(0, 4, (2, 1, 20, 20), generator=g)
    label[1, :, :5] = 255  # the images need not have equal labelled areas
    return t, c, label


def test_seeded_sampling_gives_batch_split_invariant_loss_and_grads():
    # The budget (12) is far below the labelled pixels per image (~100 at
    # the 10x10 embedding level), so the draw matters: each image draws the
    # same positions in a batch of 2 as alone (seeds from its labels and
    # the step, not from its index), so the batch loss is the mean of the
    # single-image losses and so are the gradients.
    t, c, label = _split_inputs()
    whole_loss = build(max_samples_per_image=12)
    torch.manual_seed(0)
    whole = whole_loss(F.normalize(t, dim=1), F.normalize(c, dim=1), label)
    whole.backward()
    grads = t.grad.clone(), c.grad.clone()
    singles = []
    for b in range(2):
        t.grad = c.grad = None
        torch.manual_seed(100 + b)  # the global RNG plays no part
        single = build(max_samples_per_image=12)(F.normalize(
            t[b:b + 1], dim=1), F.normalize(c[b:b + 1], dim=1), label[b:b + 1])
        (single / 2).backward()
        singles.append(single)
        assert torch.allclose(t.grad[b], grads[0][b], rtol=1e-5, atol=1e-8)
        assert torch.allclose(c.grad[b], grads[1][b], rtol=1e-5, atol=1e-8)
    assert whole.item() == pytest.approx(
        (singles[0] + singles[1]).item() / 2, rel=1e-6)


def test_step_counter_reproduces_draws_after_a_state_dict_reload():
    t, c, label = _split_inputs(seed=6)
    t, c = F.normalize(t.detach(), dim=1), F.normalize(c.detach(), dim=1)
    straight = build(max_samples_per_image=6)
    values = [straight(t, c, label).item() for _ in range(3)]
    assert int(straight.seeder.step) == 3
    assert len(set(values)) == 3  # a new draw each step
    first = build(max_samples_per_image=6)
    first(t, c, label), first(t, c, label)
    resumed = build(max_samples_per_image=6)
    resumed.load_state_dict(first.state_dict())
    assert 'seeder.step' in first.state_dict()
    assert resumed(t, c, label).item() == values[2]
    # Evaluation mode draws without advancing the counter; another seed
    # draws other positions; an explicit generator bypasses the counter.
    resumed.eval()
    assert resumed(t, c, label).item() == resumed(t, c, label).item()
    assert int(resumed.seeder.step) == 3
    assert build(
        max_samples_per_image=6, seed=1)(t, c, label).item() != values[0]
    resumed(t, c, label, generator=torch.Generator().manual_seed(0))
    assert int(resumed.seeder.step) == 3


def test_seed_none_draws_from_the_global_rng():
    t, c, label = _split_inputs(seed=7)
    t, c = F.normalize(t.detach(), dim=1), F.normalize(c.detach(), dim=1)
    loss = build(max_samples_per_image=6, seed=None)
    torch.manual_seed(0)
    first = loss(t, c, label).item()
    torch.manual_seed(0)
    assert loss(t, c, label).item() == first
    torch.manual_seed(1)
    assert loss(t, c, label).item() != first


def three_images_label(seed):
    """Labels (3, 1, 32, 32) for levels at stride 4 (8 x 8) and 8 (4 x 4).

    Image 0 is labelled everywhere; image 1 only on rows 0..3, which hold
    the cell centres (row 2) of the stride-4 level but none of the stride-8
    level (rows 4, 12, ...): it has no labelled pixel at level 1; image 2 has
    no labelled pixel at all.
    """
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 4, (3, 1, 32, 32), generator=g)
    label[1, :, 4:] = 255
    label[2] = 255
    return label


@pytest.mark.parametrize('mode', ['pixel', 'class'])
def test_batch_rule_with_an_image_unlabelled_at_a_level(mode):
    # The loss of 3 images on one process equals the mean of the losses of
    # 3 processes with one image each (what DDP's gradient averaging
    # optimises), also when an image has no labelled pixel at a level or at
    # all: every (image, level) term counts, as 0 when it has no samples.
    label = three_images_label(8)
    probe = build()
    assert (probe.resize_labels(label[1:2], (8, 8)) != 255).any()
    assert (probe.resize_labels(label[1:2], (4, 4)) == 255).all()
    g = torch.Generator().manual_seed(9)
    t = [
        torch.randn(3, 8, s, s, generator=g, requires_grad=True)
        for s in (8, 4)
    ]
    c = [
        torch.randn(3, 8, s, s, generator=g, requires_grad=True)
        for s in (8, 4)
    ]

    def run(keep):
        # A fresh loss per call: the same step, so the same per-image seeds.
        loss = build(mode=mode, max_samples_per_image=12)
        return loss([F.normalize(x[keep], dim=1) for x in t],
                    [F.normalize(x[keep], dim=1) for x in c], label[keep])

    whole = run(slice(None))
    whole.backward()
    grads = [x.grad.clone() for x in t + c]
    for x in t + c:
        x.grad = None
    singles = [run(slice(b, b + 1)) for b in range(3)]
    assert singles[1] > 0 and singles[2].item() == 0.
    split = torch.stack(singles).mean()
    assert whole.item() == pytest.approx(split.item(), rel=1e-6)
    split.backward()
    for x, grad in zip(t + c, grads):
        assert torch.allclose(x.grad, grad, rtol=1e-5, atol=1e-8)
        assert (x.grad[2] == 0).all()
    # Image 1's level-1 term is a zero that counts: its loss is half of its
    # level-0 loss.
    level0 = build(
        mode=mode, max_samples_per_image=12)(F.normalize(t[0][1:2], dim=1),
                                             F.normalize(c[0][1:2], dim=1),
                                             label[1:2])
    assert singles[1].item() == pytest.approx(level0.item() / 2, rel=1e-6)


def test_labels_are_taken_at_cell_centres():
    # Stride 32: a 64 x 64 label map, 2 x 2 embedding cells. Only the cell
    # centres (16 + 32 i, 16 + 32 j) are labelled; the top-left pixels that
    # F.interpolate(mode='nearest') takes (16 px off) are not.
    label = torch.full((1, 64, 64), 255)
    label[0, 16::32, 16::32] = torch.tensor([[0, 1], [2, 3]])
    g = torch.Generator().manual_seed(10)
    t = F.normalize(torch.randn(1, 3, 2, 2, generator=g), dim=1)
    c = F.normalize(torch.randn(1, 3, 2, 2, generator=g), dim=1)
    loss = build(max_samples_per_image=64)
    assert loss.label_downsample == 'center'
    assert loss.resize_labels(label, (2, 2)).tolist() == [[[0, 1], [2, 3]]]
    t_vec, c_vec = t.flatten(2)[0].t().tolist(), c.flatten(2)[0].t().tolist()
    expected = (reference(t_vec, c_vec, [0, 1, 2, 3], 'pixel', 0.07) +
                reference(c_vec, t_vec, [0, 1, 2, 3], 'pixel', 0.07)) / 2
    assert loss(t, c, label).item() == pytest.approx(expected, rel=1e-5)
    assert build(label_downsample='nearest')(t, c, label).item() == 0.
    majority = build(label_downsample='majority')
    assert majority.resize_labels(label, (2, 2)).tolist() == [[[0, 1], [2, 3]]]
    with pytest.raises(ValueError, match='label_downsample'):
        build(label_downsample='bilinear')
