"""MultiScaleCrossScaleContrastLoss: values, sampling budgets, edge cases."""
import math

import pytest
import torch
import torch.nn.functional as F

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg_contrafusion.models.losses import MultiScaleCrossScaleContrastLoss
from mmseg_contrafusion.models.utils import downsample_labels


def unit_map(vectors, h, w):
    """(h*w, D) row vectors -> a normalised (1, D, h, w) map."""
    x = F.normalize(torch.as_tensor(vectors, dtype=torch.float32), dim=1)
    return x.t().reshape(1, -1, h, w)


def reference(anchors, a_labels, a_imgs, contrast, c_labels, c_imgs, tau,
              exclude_self, cross_image):
    """Explicit-loop MS/CS anchor loss, mean over anchors with a positive."""
    losses = []
    for i in range(len(anchors)):
        pos, neg = [], []
        for j in range(len(contrast)):
            if exclude_self and i == j:
                continue
            if not cross_image and a_imgs[i] != c_imgs[j]:
                continue
            s = float(anchors[i] @ contrast[j]) / tau
            (pos if a_labels[i] == c_labels[j] else neg).append(s)
        if not pos:
            continue
        terms = [
            -math.log(
                math.exp(p) / (math.exp(p) + sum(math.exp(n) for n in neg)))
            for p in pos
        ]
        losses.append(sum(terms) / len(terms))
    return sum(losses) / len(losses) if losses else 0.


def flatten(embed, label):
    """All labelled pixels of (B, D, H, W) embeddings as reference inputs."""
    feats, labels, imgs = [], [], []
    for b in range(embed.shape[0]):
        for y in range(embed.shape[2]):
            for x in range(embed.shape[3]):
                if label[b, y, x] != 255:
                    feats.append(embed[b, :, y, x])
                    labels.append(int(label[b, y, x]))
                    imgs.append(b)
    return feats, labels, imgs


def test_within_scale_hand_computed():
    # a = b = (1, 0) of class 0, c = (0, 1) of class 1, tau = 0.5:
    # anchors a and b: -log(e^2 / (e^2 + e^0)); c has no positive.
    loss = MultiScaleCrossScaleContrastLoss(
        temperature=0.5,
        scale_weights=(1.0, ),
        cross_scale_pairs=(),
        cross_scale_weights=(),
        loss_weight=1.0,
        min_pixels=1)
    out = loss([unit_map([[1, 0], [1, 0], [0, 1]], 1, 3)],
               torch.tensor([[[0, 0, 1]]]))
    assert set(out) == {'loss_ms'}
    assert out['loss_ms'].item() == pytest.approx(
        math.log(1 + math.exp(-2)), rel=1e-5)


def test_cross_scale_hand_computed():
    # Anchors (stride-4 scale): a = (1, 0) class 0, c = (0, 1) class 1.
    # Contrast (coarse scale): d = (1, 0) class 0, e = (-1, 0) class 1.
    # a: positive d (s = 2), negative e (s = -2) -> log(1 + e^-4)
    # c: positive e (s = 0), negative d (s = 0)  -> log 2
    loss = MultiScaleCrossScaleContrastLoss(
        temperature=0.5,
        scale_weights=(0.0, 0.0),
        cross_scale_pairs=((0, 1), ),
        cross_scale_weights=(1.0, ),
        loss_weight=1.0,
        min_pixels=1)
    out = loss(
        [unit_map([[1, 0], [0, 1]], 1, 2),
         unit_map([[1, 0], [-1, 0]], 1, 2)], torch.tensor([[[0, 1]]]))
    expected = (math.log(1 + math.exp(-4)) + math.log(2)) / 2
    assert out['loss_ms'].item() == 0.
    assert out['loss_cs'].item() == pytest.approx(expected, rel=1e-5)


def batch_reference(flat_a, flat_c, tau, exclude_self, cross_image,
                    num_images):
    """The batch reduction: pooled with ``cross_image``, else the mean over
    all ``num_images`` images of the per-image reference (0 without one)."""
    if cross_image:
        return reference(*flat_a, *flat_c, tau, exclude_self, True)
    total = 0.
    for b in range(num_images):
        parts = []
        for feats, labels, imgs in (flat_a, flat_c):
            keep = [i for i, img in enumerate(imgs) if img == b]
            parts.append(
                ([feats[i] for i in keep], [labels[i]
                                            for i in keep], [b] * len(keep)))
        total += reference(*parts[0], *parts[1], tau, exclude_self, False)
    return total / num_images


@pytest.mark.parametrize('cross_image,label_downsample', [
    (True, 'nearest'),
    (True, 'center'),
    (False, 'center'),
    (False, 'nearest'),
])
def test_weighted_terms_match_reference(cross_image, label_downsample):
    # (True, 'nearest') is the original code (all samples of a process
    # together, F.interpolate labels); (False, 'center') follows the
    # package's batch rule (per image, mean over the images).
    torch.manual_seed(0)
    sizes = [(4, 4), (2, 2), (2, 2), (1, 1)]
    embeds = [F.normalize(torch.randn(2, 8, h, w), dim=1) for h, w in sizes]
    label = torch.randint(0, 3, (2, 4, 4))
    label[0, 0, :2] = 255
    loss = MultiScaleCrossScaleContrastLoss(
        max_samples_per_image=64,
        min_pixels=1,
        cross_image=cross_image,
        label_downsample=label_downsample)
    out = loss(embeds, label)

    flat = []
    for embed in embeds:
        if label_downsample == 'nearest':
            scale_label = F.interpolate(
                label[:, None].float(), size=embed.shape[2:],
                mode='nearest').long()[:, 0]
        else:
            scale_label = downsample_labels(label, embed.shape[2:])
        flat.append(flatten(embed, scale_label))
    ms = sum(weight * batch_reference(f, f, 0.1, True, cross_image, 2)
             for weight, f in zip((1.0, 0.7, 0.4, 0.1), flat))
    cs = sum(
        batch_reference(flat[0], flat[c], 0.1, False, cross_image, 2)
        for c in (3, 2))
    assert out['loss_ms'].item() == pytest.approx(0.1 * ms, rel=1e-4)
    assert out['loss_cs'].item() == pytest.approx(0.1 * cs, rel=1e-4)


def test_sampler_budget_per_image_and_class():
    loss = MultiScaleCrossScaleContrastLoss(
        max_samples_per_image=12, min_pixels=5)
    label = torch.zeros(2, 16, 16, dtype=torch.long)
    label[0, :8] = 1  # image 0: classes 0 and 1, 128 pixels each
    label[0, 0, :3] = 2  # class 2: 3 pixels < min_pixels
    label[1] = 255
    label[1, :4, :4] = 3  # image 1: 16 pixels of class 3, rest ignored
    embeds = [torch.randn(2, 4, 16 // s, 16 // s) for s in (1, 2, 4, 8)]
    samples = loss.sample(embeds, label, torch.Generator().manual_seed(0))
    assert len(samples) == 4
    first = samples[0]
    img0 = first.batch_inds == 0
    assert img0.sum() == 12  # the budget, split evenly over classes 0, 1
    assert torch.bincount(first.labels[img0]).tolist() == [6, 6]
    assert (first.labels[~img0] == 3).all() and (~img0).sum() == 12
    for scale in samples:
        for b in (0, 1):
            assert (scale.batch_inds == b).sum() <= 12
        assert not (scale.labels == 255).any()
        assert not (scale.labels == 2).any()
        assert scale.feats.shape == (len(scale.labels), 4)
    # At stride 8 (2x2) class 3 has 1 pixel < min_pixels: image 1 is empty.
    assert not (samples[3].batch_inds == 1).any()
    # Per-image budgets: an image draws as many samples alone as in a batch.
    alone = loss.sample([e[:1] for e in embeds], label[:1],
                        torch.Generator().manual_seed(1))
    assert [len(s.labels) for s in alone
            ] == [int((s.batch_inds == 0).sum()) for s in samples]


def test_all_ignore_batch_gives_attached_zero():
    loss = MultiScaleCrossScaleContrastLoss()
    embeds = [
        F.normalize(torch.randn(2, 8, s, s), dim=1).requires_grad_()
        for s in (8, 4, 2, 1)
    ]
    label = torch.full((2, 32, 32), 255, dtype=torch.long)
    out = loss(embeds, label)
    assert out['loss_ms'].item() == 0. and out['loss_cs'].item() == 0.
    (out['loss_ms'] + out['loss_cs']).backward()
    for embed in embeds:
        assert embed.grad is not None and (embed.grad == 0).all()


def test_partly_ignored_batch_is_finite():
    loss = MultiScaleCrossScaleContrastLoss(min_pixels=1)
    embeds = [
        F.normalize(torch.randn(2, 8, s, s), dim=1).requires_grad_()
        for s in (8, 4, 2, 1)
    ]
    label = torch.full((2, 32, 32), 255, dtype=torch.long)
    label[1, :16] = 0
    label[1, 16:] = 1
    out = loss(embeds, label)
    assert out['loss_ms'] > 0 and out['loss_cs'] > 0
    sum(out.values()).backward()
    assert all(torch.isfinite(e.grad).all() for e in embeds)


def test_detach_low_res_stops_cross_scale_gradient():
    label = torch.randint(0, 2, (1, 8, 8))
    for detach in (False, True):
        loss = MultiScaleCrossScaleContrastLoss(
            scale_weights=(0., 0.),
            cross_scale_pairs=((0, 1), ),
            cross_scale_weights=(1., ),
            detach_low_res=detach,
            min_pixels=1)
        embeds = [
            F.normalize(torch.randn(1, 4, s, s), dim=1).requires_grad_()
            for s in (8, 4)
        ]
        loss(embeds, label)['loss_cs'].backward()
        assert embeds[0].grad.abs().sum() > 0
        assert (embeds[1].grad.abs().sum() == 0) == detach


@pytest.mark.parametrize('cross_image', [True, False])
def test_with_cp_same_terms_and_gradients(cross_image):
    """with_cp (the default) recomputes each term's kernel in backward."""
    g = torch.Generator().manual_seed(0)
    base = [
        F.normalize(torch.randn(2, 8, s, s, generator=g), dim=1)
        for s in (16, 8, 4, 2)
    ]
    label = torch.randint(0, 4, (2, 32, 32), generator=g)
    results = []
    for with_cp in (False, True):
        loss = MultiScaleCrossScaleContrastLoss(
            cross_image=cross_image, min_pixels=1, with_cp=with_cp)
        embeds = [e.clone().requires_grad_() for e in base]
        out = loss(embeds, label)
        sum(out.values()).backward()
        results.append((out, [e.grad for e in embeds]))
    (out0, grads0), (out1, grads1) = results
    assert MultiScaleCrossScaleContrastLoss().with_cp
    for key in out0:
        assert torch.equal(out0[key].detach(), out1[key].detach())
    for g0, g1 in zip(grads0, grads1):
        torch.testing.assert_close(g1, g0, rtol=1e-5, atol=1e-8)


def test_registry_and_validation():
    loss = MODELS.build(dict(type='MultiScaleCrossScaleContrastLoss'))
    assert loss.loss_names == ('loss_ms', 'loss_cs')
    assert loss.temperature == loss.cross_scale_temperature == 0.1
    assert loss.scale_weights == (1.0, 0.7, 0.4, 0.1)
    assert loss.cross_scale_pairs == ((0, 3), (0, 2))
    assert loss.loss_weight == 0.1
    with pytest.raises(ValueError, match='index beyond'):
        MultiScaleCrossScaleContrastLoss(cross_scale_pairs=((0, 4), (0, 2)))
    with pytest.raises(ValueError, match='cross_scale_weights'):
        MultiScaleCrossScaleContrastLoss(cross_scale_weights=(1.0, ))
    with pytest.raises(ValueError, match='loss_'):
        MultiScaleCrossScaleContrastLoss(ms_loss_name='ms')
    with pytest.raises(ValueError, match='embedding maps'):
        loss([torch.randn(1, 4, 2, 2)], torch.zeros(1, 2, 2).long())


def test_seeded_draws_per_image_and_step():
    # Each image draws the same positions at every scale alone as in a
    # batch; the step counter advances per training forward and is in the
    # state dict, so a reloaded loss continues the same sequence of draws.
    g = torch.Generator().manual_seed(3)
    label = torch.randint(0, 3, (2, 32, 32), generator=g)
    label[0, :8] = 255
    embeds = [torch.randn(2, 4, s, s, generator=g) for s in (16, 8, 4, 2)]
    loss = MultiScaleCrossScaleContrastLoss(
        max_samples_per_image=10, min_pixels=1)
    torch.manual_seed(0)
    batch = loss.sample(embeds, label)
    for b in range(2):
        torch.manual_seed(b + 1)
        alone = loss.sample([e[b:b + 1] for e in embeds], label[b:b + 1])
        for whole, single in zip(batch, alone):
            keep = whole.batch_inds == b
            assert torch.equal(single.feats, whole.feats[keep])
            assert torch.equal(single.labels, whole.labels[keep])
    embeds = [F.normalize(e, dim=1) for e in embeds]
    values = [loss(embeds, label)['loss_ms'].item() for _ in range(3)]
    assert int(loss.seeder.step) == 3 and len(set(values)) == 3
    reloaded = MultiScaleCrossScaleContrastLoss(
        max_samples_per_image=10, min_pixels=1)
    state = loss.state_dict()
    state['seeder.step'] = torch.tensor(2)
    reloaded.load_state_dict(state)
    assert reloaded(embeds, label)['loss_ms'].item() == values[2]


def three_images_label(seed):
    """Labels (3, 32, 32) for scales at strides 4, 8, 16 and 32.

    Image 0 is labelled everywhere; image 1 only on rows 0..3, which hold
    cell centres of the stride-4 scale (row 2) but of no coarser scale (rows
    4, 8 and 16 are their first centres): it has no labelled pixel at
    scales 1..3, so no cross-scale partner either; image 2 has no labelled
    pixel at all.
    """
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 3, (3, 32, 32), generator=g)
    label[1, 4:] = 255
    label[2] = 255
    return label


def test_per_image_mode_follows_the_batch_rule():
    # cross_image=False: the loss of 3 images on one process equals the
    # mean of the losses of 3 processes with one image each, terms and
    # gradients, with an image unlabelled at some scales and one at all.
    label = three_images_label(4)
    g = torch.Generator().manual_seed(5)
    raw = [
        torch.randn(3, 8, s, s, generator=g, requires_grad=True)
        for s in (8, 4, 2, 1)
    ]

    def run(keep):
        loss = MultiScaleCrossScaleContrastLoss(
            max_samples_per_image=16, min_pixels=1, cross_image=False)
        return loss([F.normalize(x[keep], dim=1) for x in raw], label[keep])

    probe = run(slice(1, 2))
    assert probe['loss_ms'] > 0 and probe['loss_cs'].item() == 0.
    whole = run(slice(None))
    sum(whole.values()).backward()
    grads = [x.grad.clone() for x in raw]
    for x in raw:
        x.grad = None
    singles = [run(slice(b, b + 1)) for b in range(3)]
    for key in ('loss_ms', 'loss_cs'):
        assert whole[key].item() == pytest.approx(
            sum(s[key].item() for s in singles) / 3, rel=1e-6)
    sum(sum(s.values()) for s in singles).div(3).backward()
    for x, grad in zip(raw, grads):
        assert torch.allclose(x.grad, grad, rtol=1e-5, atol=1e-8)
        assert (x.grad[2] == 0).all()
    # cross_image=True pools the samples of a process: the same split gives
    # another loss (it cannot be split-invariant).
    pooled = MultiScaleCrossScaleContrastLoss(
        max_samples_per_image=16, min_pixels=1)
    embeds = [F.normalize(x.detach(), dim=1) for x in raw]
    value = pooled(embeds, label)['loss_ms'].item()
    split = sum(
        MultiScaleCrossScaleContrastLoss(
            max_samples_per_image=16, min_pixels=1)
        ([e[b:b + 1] for e in embeds], label[b:b + 1])['loss_ms']
        for b in range(3)).item() / 3
    assert value != pytest.approx(split, rel=1e-3)


def test_per_image_mode_all_ignored_gives_attached_zero():
    loss = MultiScaleCrossScaleContrastLoss(cross_image=False)
    embeds = [
        F.normalize(torch.randn(2, 8, s, s), dim=1).requires_grad_()
        for s in (8, 4, 2, 1)
    ]
    out = loss(embeds, torch.full((2, 32, 32), 255, dtype=torch.long))
    assert out['loss_ms'].item() == 0. and out['loss_cs'].item() == 0.
    (out['loss_ms'] + out['loss_cs']).backward()
    for embed in embeds:
        assert embed.grad is not None and (embed.grad == 0).all()


def test_scale_labels_at_cell_centres():
    # Stride 32 on a 64 x 64 label map: 2 x 2 cells whose centre pixels
    # (16 + 32 i, 16 + 32 j) are the only labelled ones.
    label = torch.full((1, 64, 64), 255)
    label[0, 16::32, 16::32] = torch.tensor([[0, 1], [2, 1]])
    embeds = [torch.randn(1, 4, 2, 2)]
    kwargs = dict(
        scale_weights=(1.0, ),
        cross_scale_pairs=(),
        cross_scale_weights=(),
        min_pixels=1)
    centre = MultiScaleCrossScaleContrastLoss(**kwargs)
    picked = centre.sample(embeds, label)[0]
    assert sorted(picked.labels.tolist()) == [0, 1, 1, 2]
    nearest = MultiScaleCrossScaleContrastLoss(
        label_downsample='nearest', **kwargs)
    assert len(nearest.sample(embeds, label)[0].labels) == 0
    with pytest.raises(ValueError, match='label_downsample'):
        MultiScaleCrossScaleContrastLoss(label_downsample='area')
