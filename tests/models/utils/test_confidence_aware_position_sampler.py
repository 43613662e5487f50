"""ConfidenceAwarePositionSampler (CAMAS): exact picks on a constructed
case."""
import pytest
import torch

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import TASK_UTILS
from mmseg_contrafusion.models.utils import (ConfidenceAwarePositionSampler,
                                             hard_easy_quotas)


def build(**kwargs):
    cfg = dict(type='ConfidenceAwarePositionSampler')
    cfg.update(kwargs)
    return TASK_UTILS.build(cfg)


# One 2x8 image, 3 classes, positions y * 8 + x = 0..15. Each row: label and
# the softmax of the segmentation head at that pixel.
PIXELS = [
    # class 0: 7 pixels; easy (predicted 0): 0, 1, 2, 6; hard: 3, 4, 5
    (0, [0.90, 0.05, 0.05]),  # 0 easy, p0 0.90
    (0, [0.50, 0.30, 0.20]),  # 1 easy, p0 0.50  <- lowest easy
    (0, [0.60, 0.20, 0.20]),  # 2 easy, p0 0.60  <- 2nd lowest easy
    (0, [0.30, 0.60, 0.10]),  # 3 hard, p0 0.30  <- 2nd highest hard
    (0, [0.45, 0.05, 0.50]),  # 4 hard, p0 0.45  <- highest hard
    (0, [0.10, 0.80, 0.10]),  # 5 hard, p0 0.10
    (0, [0.70, 0.20, 0.10]),  # 6 easy, p0 0.70
    # class 1: 6 pixels; one hard pixel (9), the rest easy
    (1, [0.10, 0.80, 0.10]),  # 7 easy, p1 0.80
    (1, [0.30, 0.40, 0.30]),  # 8 easy, p1 0.40  <- lowest easy
    (1, [0.50, 0.35, 0.15]),  # 9 hard, p1 0.35  <- the only hard
    (1, [0.025, 0.95, 0.025]),  # 10 easy, p1 0.95
    (1, [0.25, 0.50, 0.25]),  # 11 easy, p1 0.50  <- 2nd lowest easy
    (1, [0.20, 0.60, 0.20]),  # 12 easy, p1 0.60  <- 3rd lowest easy
    # class 2: 2 pixels, not more than the threshold: never sampled
    (2, [0.10, 0.10, 0.80]),  # 13
    (2, [0.10, 0.10, 0.80]),  # 14
    (255, [0.3, 0.3, 0.4]),  # 15 ignored
]
# threshold 3 -> groups: classes 0 (7 px) and 1 (6 px), T = 2;
# n = min(8 // 2, cap 4) = 4 per group.
# class 0: 2 hard (highest p0: 4, 3) + 2 easy (lowest p0: 1, 2)
# class 1: only 1 hard (9), so 1 hard + 3 easy (lowest p1: 8, 11, 12)
EXPECTED = [4, 3, 1, 2, 9, 8, 11, 12]


def image(pixels=PIXELS):
    labels = torch.tensor([c for c, _ in pixels]).view(1, 2, 8)
    probs = torch.tensor([p for _, p in pixels]).t().reshape(1, 3, 2, 8)
    return probs.log(), labels


def test_quota_rule():
    assert hard_easy_quotas(10, 10, 6) == (3, 3)
    assert hard_easy_quotas(10, 10, 5) == (2, 3)
    assert hard_easy_quotas(1, 10, 6) == (1, 5)  # hard short
    assert hard_easy_quotas(10, 1, 6) == (5, 1)  # easy short
    assert hard_easy_quotas(2, 1, 6) == (2, 1)  # both short: all
    assert hard_easy_quotas(4, 2, 6) == (4, 2)
    assert hard_easy_quotas(0, 0, 6) == (0, 0)


def test_picks_exactly_the_marginal_pixels():
    logits, labels = image()
    sampler = build(max_samples_per_image=8, threshold=3, per_class_cap=4)
    samples = sampler.sample(logits, labels)
    assert samples.flat_inds.tolist() == EXPECTED
    assert samples.labels.tolist() == [0] * 4 + [1] * 4
    assert samples.batch_inds.tolist() == [0] * 8
    # gather reads the same positions out of a feature map.
    feats = torch.arange(16.).view(1, 1, 2, 8)
    assert sampler.gather(feats, samples)[:, 0].tolist() == EXPECTED


def test_threshold_is_strict_and_cap_applies():
    logits, labels = image()
    # threshold 6: class 1 (6 px) is not *more* than 6; class 0 alone gets
    # min(8 // 1, cap 6) = 6 -> 3 hard (all of them) + 3 easy (1, 2, 6).
    samples = build(
        max_samples_per_image=8, threshold=6).sample(logits, labels)
    assert samples.flat_inds.tolist() == [4, 3, 5, 1, 2, 6]
    # The cap defaults to the threshold (the reference's min(., 100)).
    assert build(threshold=3).per_class_cap == 3
    samples = build(
        max_samples_per_image=100, threshold=3).sample(logits, labels)
    # n = min(100 // 2, 3) = 3 -> 1 hard + 2 easy per group.
    assert samples.flat_inds.tolist() == [4, 1, 2, 9, 8, 11]


def test_budget_is_per_image():
    # Image 0 as above; image 1 has a third large class. With a budget per
    # image, image 0's anchors do not depend on image 1 (a per-GPU budget
    # would split 16 anchors over 5 groups and give image 0 3 per class).
    logits0, labels0 = image()
    pixels1 = list(PIXELS[:13])
    pixels1 += [(2, [0.1, 0.1, 0.8])] * 3
    logits1, labels1 = image(pixels1)
    sampler = build(max_samples_per_image=8, threshold=2, per_class_cap=4)
    both = sampler.sample(
        torch.cat([logits0, logits1]), torch.cat([labels0, labels1]))
    for b, (logits, labels) in enumerate([(logits0, labels0),
                                          (logits1, labels1)]):
        alone = sampler.sample(logits, labels)
        keep = both.batch_inds == b
        assert both.flat_inds[keep].tolist() == alone.flat_inds.tolist()
        assert both.labels[keep].tolist() == alone.labels.tolist()
    # Image 1: 3 groups -> min(8 // 3, 4) = 2 per group.
    assert int((both.batch_inds == 1).sum()) == 6
    assert int((both.batch_inds == 0).sum()) == 8


def test_per_batch_budget_is_shared_by_all_groups_of_the_call():
    """budget_mode='per_batch' (the reference code): n = min(N // T, cap)
    with T the groups of all images; the picks within a group follow the
    same ranking."""
    logits0, labels0 = image()
    pixels1 = list(PIXELS[:13])
    pixels1 += [(2, [0.1, 0.1, 0.8])] * 3
    logits1, labels1 = image(pixels1)
    logits = torch.cat([logits0, logits1])
    labels = torch.cat([labels0, labels1])
    # threshold 2: 2 groups in image 0, 3 in image 1 -> T = 5, and
    # n = min(16 // 5, 4) = 3 for every group of both images.
    sampler = build(
        threshold=2,
        per_class_cap=4,
        budget_mode='per_batch',
        max_samples_per_batch=16)
    both = sampler.sample(logits, labels)
    counts = {}
    for b, c in zip(both.batch_inds.tolist(), both.labels.tolist()):
        counts[(b, c)] = counts.get((b, c), 0) + 1
    assert counts == {(0, 0): 3, (0, 1): 3, (1, 0): 3, (1, 1): 3, (1, 2): 3}
    # Class 0 of image 0: 1 hard (highest p0: 4) + 2 easy (lowest: 1, 2).
    keep = both.batch_inds == 0
    assert both.flat_inds[keep].tolist()[:3] == [4, 1, 2]
    # The same budget over image 0 alone: T = 2, min(16 // 2, 4) = 4.
    alone = sampler.sample(logits0, labels0)
    assert alone.flat_inds.tolist() == EXPECTED
    # max_samples_per_image plays no part in 'per_batch'.
    other = build(
        threshold=2,
        per_class_cap=4,
        budget_mode='per_batch',
        max_samples_per_batch=16,
        max_samples_per_image=1)
    assert other.sample(logits, labels).flat_inds.tolist() == \
        both.flat_inds.tolist()
    with pytest.raises(ValueError, match='budget_mode'):
        build(budget_mode='per_gpu')


def test_random_order_respects_the_sets():
    logits, labels = image()
    sampler = build(
        max_samples_per_image=8, threshold=3, per_class_cap=4, order='random')
    picks = [
        sampler.sample(logits, labels,
                       torch.Generator().manual_seed(s)).flat_inds.tolist()
        for s in range(5)
    ]
    assert picks[0] == sampler.sample(
        logits, labels,
        torch.Generator().manual_seed(0)).flat_inds.tolist()
    hard0, easy0 = {3, 4, 5}, {0, 1, 2, 6}
    for p in picks:
        assert len(set(p[:2]) & hard0) == 2 and len(set(p[2:4]) & easy0) == 2
        assert p[4] == 9 and set(p[5:]) <= {7, 8, 10, 11, 12}
    assert len({tuple(p) for p in picks}) > 1


def test_all_ignored_and_too_many_groups_give_nothing():
    logits, labels = image()
    samples = build(threshold=3).sample(logits, torch.full_like(labels, 255))
    assert len(samples) == 0 and samples.flat_inds.dtype == torch.long
    # 2 groups but a budget of 1: min(1 // 2, cap) = 0 anchors.
    samples = build(
        max_samples_per_image=1, threshold=3).sample(logits, labels)
    assert len(samples) == 0


def test_sampling_has_no_gradient_and_checks_shapes():
    logits, labels = image()
    logits.requires_grad_()
    samples = build(threshold=3).sample(logits, labels[:, None])
    assert not samples.flat_inds.requires_grad
    with pytest.raises(ValueError, match='same'):
        build().sample(logits, labels[:, :, :4])
    with pytest.raises(ValueError, match='order'):
        build(order='hardest')
    assert isinstance(build(), ConfidenceAwarePositionSampler)
