"""ClassBalancedPositionSampler: per-image budget, balance, ignore, seeds;
per-image seeding (per_image_seeds, SampleSeeder)."""
import pytest
import torch

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import TASK_UTILS
from mmseg_contrafusion.models.utils import (BasePositionSampler,
                                             ClassBalancedPositionSampler,
                                             ConfidenceAwarePositionSampler,
                                             SampleSeeder, balanced_quotas,
                                             label_fingerprint,
                                             per_image_seeds)


@pytest.mark.parametrize('counts,budget,expected', [
    ([100, 100, 100], 10, [3, 3, 4]),
    ([1, 100, 100], 10, [1, 4, 5]),
    ([2, 3], 100, [2, 3]),
    ([0, 50], 10, [0, 10]),
    ([], 10, []),
])
def test_balanced_quotas(counts, budget, expected):
    assert balanced_quotas(counts, budget) == expected


def test_budget_is_per_image_and_balanced():
    label = torch.full((2, 40, 50), 255, dtype=torch.long)
    label[0, :20] = 0  # 1000 px
    label[0, 20:21, :10] = 1  # 10 px
    label[1, :, :25] = 3  # 1000 px
    label[1, :, 25:] = 4  # 1000 px
    sampler = ClassBalancedPositionSampler(max_samples_per_image=100)
    samples = sampler.sample(label, torch.Generator().manual_seed(0))
    b0 = samples.labels[samples.batch_inds == 0]
    b1 = samples.labels[samples.batch_inds == 1]
    assert (b0 == 1).sum() == 10 and (b0 == 0).sum() == 90
    assert (b1 == 3).sum() == 50 and (b1 == 4).sum() == 50
    assert not (samples.labels == 255).any()
    # The stored labels are those at the sampled positions, no repeats.
    flat = label.flatten(1)
    assert torch.equal(flat[samples.batch_inds, samples.flat_inds],
                       samples.labels)
    for b in range(2):
        inds = samples.flat_inds[samples.batch_inds == b]
        assert inds.unique().numel() == inds.numel()


def test_uniform_min_pixels_and_small_images():
    label = torch.zeros(1, 1, 8, 8, dtype=torch.long)
    label[..., :2] = 7  # 16 px
    label[..., 0, 2] = 5  # 1 px, below min_pixels
    sampler = ClassBalancedPositionSampler(
        max_samples_per_image=1000, min_pixels=2)
    samples = sampler.sample(label)
    assert len(samples) == 63 and not (samples.labels == 5).any()
    uniform = ClassBalancedPositionSampler(
        max_samples_per_image=10, class_balanced=False)
    assert len(uniform.sample(label)) == 10


def test_all_ignored_gives_empty_samples():
    sampler = ClassBalancedPositionSampler(max_samples_per_image=8)
    samples = sampler.sample(torch.full((3, 4, 4), 255))
    assert len(samples) == 0
    feats = torch.randn(3, 5, 4, 4)
    assert sampler.gather(feats, samples).shape == (0, 5)


def test_deterministic_with_generator():
    label = torch.randint(0, 4, (2, 16, 16))
    sampler = ClassBalancedPositionSampler(max_samples_per_image=20)
    first = sampler.sample(label, torch.Generator().manual_seed(3))
    second = sampler.sample(label, torch.Generator().manual_seed(3))
    other = sampler.sample(label, torch.Generator().manual_seed(4))
    assert torch.equal(first.flat_inds, second.flat_inds)
    assert not torch.equal(first.flat_inds, other.flat_inds)
    torch.manual_seed(5)
    third = sampler.sample(label)
    torch.manual_seed(5)
    assert torch.equal(third.flat_inds, sampler.sample(label).flat_inds)


def test_gather_picks_positions_with_gradient():
    feats = torch.arange(
        2 * 3 * 2 * 2, dtype=torch.float).reshape(2, 3, 2, 2).requires_grad_()
    label = torch.tensor([[[0, 255], [255, 255]], [[255, 255], [255, 1]]])
    sampler = TASK_UTILS.build(
        dict(type='ClassBalancedPositionSampler', max_samples_per_image=4))
    samples = sampler.sample(label)
    picked = sampler.gather(feats, samples)
    assert torch.equal(picked,
                       torch.stack([feats[0, :, 0, 0], feats[1, :, 1, 1]]))
    picked.sum().backward()
    assert feats.grad.sum() == 6


def _labels(seed, shape=(3, 24, 20), num_classes=4):
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, num_classes, shape, generator=g)
    label[:, :3] = 255
    return label


def test_seeds_depend_on_content_not_position():
    label = _labels(0)
    seeds = per_image_seeds(label, seed=0, step=7, stream='level0')
    assert len(set(seeds)) == 3 and all(0 <= s < 2**63 for s in seeds)
    # Another order, another batch size, another dtype or a channel axis:
    # each image keeps its seed.
    assert per_image_seeds(label.flip(0), 0, 7, 'level0') == seeds[::-1]
    assert per_image_seeds(label[1:2], 0, 7, 'level0') == seeds[1:2]
    assert per_image_seeds(label[:, None].to(torch.uint8), 0, 7,
                           'level0') == seeds
    # Seed, step, stream and a single pixel all change it.
    for other in (per_image_seeds(label, 1, 7, 'level0'),
                  per_image_seeds(label, 0, 8, 'level0'),
                  per_image_seeds(label, 0, 7, 'level1')):
        assert all(a != b for a, b in zip(seeds, other))
    changed = label.clone()
    changed[0, 10, 10] = (changed[0, 10, 10] + 1) % 4
    assert per_image_seeds(changed, 0, 7, 'level0')[1:] == seeds[1:]
    assert per_image_seeds(changed, 0, 7, 'level0')[0] != seeds[0]
    assert label_fingerprint(label[0]) != label_fingerprint(changed[0])


def test_seeded_draw_of_an_image_does_not_depend_on_its_batch():
    label = _labels(1)
    sampler = ClassBalancedPositionSampler(max_samples_per_image=30)
    seeds = per_image_seeds(label, 0, 0)
    torch.manual_seed(0)
    batch = sampler.sample(label, seeds=seeds)
    torch.manual_seed(1)  # the global RNG plays no part
    for b in range(3):
        alone = sampler.sample(label[b:b + 1], seeds=seeds[b:b + 1])
        keep = batch.batch_inds == b
        assert len(alone) == 30
        assert torch.equal(alone.flat_inds, batch.flat_inds[keep])
        assert torch.equal(alone.labels, batch.labels[keep])
    # Another seed draws other positions, with the same class balance.
    other = sampler.sample(label, seeds=[s + 1 for s in seeds])
    assert not torch.equal(other.flat_inds, batch.flat_inds)
    assert torch.equal(other.labels.sort().values, batch.labels.sort().values)
    with pytest.raises(ValueError, match='not both'):
        sampler.sample(label, torch.Generator(), seeds=seeds)
    with pytest.raises(ValueError, match='2 seeds'):
        sampler.sample(label, seeds=seeds[:2])


def test_sample_seeder_counts_training_steps_and_is_checkpointed():
    seeder = SampleSeeder(seed=3)
    assert seeder.enabled and 'step' in seeder.state_dict()
    assert [seeder.next_step() for _ in range(3)] == [0, 1, 2]
    seeder.eval()
    assert seeder.next_step() == 3 and int(seeder.step) == 3
    label = _labels(2)
    assert seeder.image_seeds(label) == per_image_seeds(label, 3, 3)
    assert seeder.image_seeds(label, 1,
                              's') == per_image_seeds(label, 3, 1, 's')
    restored = SampleSeeder(seed=3)
    restored.load_state_dict(seeder.state_dict())
    assert int(restored.step) == 3
    # A state dict from before the counter existed loads as step 0.
    restored.load_state_dict({}, strict=True)
    assert int(restored.step) == 0
    off = SampleSeeder(seed=None)
    assert not off.enabled and off.image_seeds(label) is None
    with pytest.raises(ValueError):
        SampleSeeder(seed=-1)


def test_samplers_share_a_base_and_live_in_task_utils():
    """Both return positions (not mmseg's per-pixel weights) and are built
    where mmseg builds its pixel samplers."""
    for name, cls in (('ClassBalancedPositionSampler',
                       ClassBalancedPositionSampler),
                      ('ConfidenceAwarePositionSampler',
                       ConfidenceAwarePositionSampler)):
        assert TASK_UTILS.get(name) is cls
        assert issubclass(cls, BasePositionSampler)
