"""Class-balanced random sampling of labelled pixel positions.

The budget is **per image**: every image contributes at most
``max_samples_per_image`` positions whatever the batch size, so a loss built
on the samples does not change with the number of GPUs a batch is split over
(MS/CS, Pissas et al. ECCV 2022, issue #4 shows what a per-GPU budget does).
Memory is O(H x W) per image for the labels and O(budget) for the samples.

The draw is **per image and reproducible** when the caller gives per-image
seeds (:meth:`ClassBalancedPixelSampler.sample` with ``seeds``): image *b*
then draws from its own ``torch.Generator`` seeded with ``seeds[b]``, so what
an image gets depends neither on the other images of the batch nor on the
process it is on, nor on the global RNG (which dropout, augmentations and
weight init also consume). :class:`SampleSeeder` makes those seeds for the
contrastive losses from a base seed, a step counter kept as a persistent
buffer (so it is saved in checkpoints and restored by ``--resume``) and a
fingerprint of each image's label map (:func:`label_fingerprint`). The
fingerprint is used rather than the image's index in the batch because the
index of an image differs between one process with a batch of 2 and two
processes with a batch of 1 each; its content does not.
"""
import hashlib
from typing import List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS


class PixelSamples(NamedTuple):
    """Sampled positions of a batch of label maps.

    Attributes:
        batch_inds (Tensor): Image index of each sample, shape (N,), long.
        flat_inds (Tensor): Position ``y * W + x`` of each sample inside its
            image, shape (N,), long.
        labels (Tensor): Class of each sample, shape (N,), long.
    """
    batch_inds: Tensor
    flat_inds: Tensor
    labels: Tensor

    def __len__(self) -> int:  # type: ignore[override]
        return int(self.labels.numel())


def balanced_quotas(counts: Sequence[int], budget: int) -> List[int]:
    """Split ``budget`` over classes as evenly as their counts allow.

    Water-filling: classes smaller than their fair share give all their
    pixels and the rest is shared by the larger classes (the largest class
    takes the remainder of an uneven split). The result sums to
    ``min(budget, sum(counts))``, never exceeds a class's count and is
    deterministic.

    Args:
        counts (Sequence[int]): Pixels available per class.
        budget (int): Samples to distribute.

    Returns:
        list[int]: The number of samples per class, in the order of
        ``counts``.
    """
    quotas = [0] * len(counts)
    order = sorted(range(len(counts)), key=lambda i: (counts[i], i))
    remaining = budget
    for rank, idx in enumerate(order):
        share = remaining // (len(order) - rank)
        quotas[idx] = min(counts[idx], share)
        remaining -= quotas[idx]
    return quotas


_SEED_MASK = (1 << 63) - 1


def label_fingerprint(label: Tensor) -> bytes:
    """A digest of one label map: its shape and every value.

    The same label map gives the same digest on any device, in any dtype and
    in any process; label maps that differ in one pixel give different
    digests (128-bit BLAKE2b).

    Args:
        label (Tensor): Label map of one image, any shape (e.g. (H, W) or
            (1, H, W)), integer values.

    Returns:
        bytes: 16 bytes.
    """
    values = label.detach().to(device='cpu', dtype=torch.int64).contiguous()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(tuple(values.shape)).encode())
    digest.update(values.numpy().tobytes())
    return digest.digest()


def per_image_seeds(seg_label: Tensor,
                    seed: int,
                    step: int,
                    stream: str = '') -> List[int]:
    """One RNG seed per image, from its label map and a (seed, step) pair.

    ``seeds[b]`` is a hash of ``seed``, ``step``, ``stream`` and
    :func:`label_fingerprint` of ``seg_label[b]``, so it does not depend on
    ``b``, on the batch size or on the process.

    Args:
        seg_label (Tensor): Label maps, shape (B, H, W) or (B, 1, H, W).
        seed (int): Base seed.
        step (int): Training step (e.g. :attr:`SampleSeeder.step`).
        stream (str): Tells apart draws from the same label map in one
            step, e.g. ``'level0'`` and ``'level1'``. Defaults to ``''``.

    Returns:
        list[int]: ``B`` seeds in ``[0, 2**63)``.
    """
    if seg_label.dim() == 4 and seg_label.shape[1] == 1:
        seg_label = seg_label.squeeze(1)
    if seg_label.dim() != 3:
        raise ValueError('seg_label must have shape (B, H, W) or '
                         f'(B, 1, H, W), got {tuple(seg_label.shape)}')
    # One copy to the host for the whole batch.
    seg_label = seg_label.detach().to(device='cpu', dtype=torch.int64)
    prefix = f'{int(seed)}|{int(step)}|{stream}|'.encode()
    seeds = []
    for label in seg_label:
        digest = hashlib.blake2b(prefix, digest_size=8)
        digest.update(label_fingerprint(label))
        seeds.append(int.from_bytes(digest.digest(), 'little') & _SEED_MASK)
    return seeds


class SampleSeeder(nn.Module):
    """Per-image seeds for reproducible pixel sampling, with a step counter.

    A loss that samples pixels owns one ``SampleSeeder``. At each forward in
    training mode it takes the current step (:meth:`next_step`, which then
    advances the counter) and asks :meth:`image_seeds` for one seed per image
    of each label map it samples from. The counter is a persistent buffer
    (``<loss>.seeder.step`` in the state dict), so it is saved in
    checkpoints and a run resumed with ``--resume`` draws exactly what the
    uninterrupted run draws; the seeds depend on the label maps, not on the
    batch layout, so one process with a batch of 2 and two processes with a
    batch of 1 draw the same positions for the same images.

    Note:
        Two seeders with the same ``seed`` draw the same positions from the
        same label map at the same step (e.g. two losses in one model); give
        them different seeds for independent draws. The base seed is the
        module's own, not mmengine's ``randomness.seed``. The fingerprint
        covers the whole label map as the loss sees it, padding included:
        an image padded to another size in another batch counts as another
        image (its features differ then too), and two identical label maps
        in one batch draw the same positions.

    Args:
        seed (int, optional): Base seed. None turns seeding off:
            :meth:`image_seeds` returns None and samplers draw from the global
            torch RNG (the behaviour before seeding was added; not
            reproducible across ``--resume`` nor across batch splits).
            Defaults to 0.
    """

    def __init__(self, seed: Optional[int] = 0) -> None:
        super().__init__()
        if seed is not None and not 0 <= int(seed) <= _SEED_MASK:
            raise ValueError(f'seed must be in [0, 2**63), got {seed}')
        self.seed = None if seed is None else int(seed)
        self.register_buffer(
            'step', torch.zeros((), dtype=torch.long), persistent=True)

    def extra_repr(self) -> str:
        return f'seed={self.seed}, step={int(self.step)}'

    @property
    def enabled(self) -> bool:
        """bool: Whether draws are seeded (``seed`` is not None)."""
        return self.seed is not None

    def next_step(self) -> int:
        """The current step; advances the counter in training mode.

        Returns:
            int: The step to seed this forward's draws with.
        """
        step = int(self.step)
        if self.training:
            self.step.add_(1)
        return step

    def image_seeds(self,
                    seg_label: Tensor,
                    step: Optional[int] = None,
                    stream: str = '') -> Optional[List[int]]:
        """Seeds of the images of a batch (:func:`per_image_seeds`).

        Args:
            seg_label (Tensor): Label maps the sampler draws from, shape
                (B, H, W) or (B, 1, H, W).
            step (int, optional): Step from :meth:`next_step`. Defaults to
                None (the counter's current value).
            stream (str): Tells apart several draws of one step. Defaults to
                ``''``.

        Returns:
            list[int] | None: ``B`` seeds, or None when seeding is off.
        """
        if self.seed is None:
            return None
        if step is None:
            step = int(self.step)
        return per_image_seeds(seg_label, self.seed, step, stream)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # Checkpoints written before the counter existed: start at 0.
        key = prefix + 'step'
        if key not in state_dict:
            self.step.zero_()
            state_dict = dict(state_dict, **{key: self.step.clone()})
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)


def labelled_positions(labels: Tensor,
                       ignore_index: Optional[int]) -> Tensor:
    """Flat indices of the labelled pixels of one label map.

    Args:
        labels (Tensor): Labels of one image, shape (H*W,).
        ignore_index (int, optional): Label of unlabelled pixels.

    Returns:
        Tensor: Indices into ``labels`` (long), in increasing order.
    """
    valid = labels >= 0
    if ignore_index is not None:
        valid &= labels != ignore_index
    return valid.nonzero(as_tuple=True)[0]


def take_lowest_per_group(positions: Tensor, group: Tensor, score: Tensor,
                          quotas: Tensor, group_sizes: Tensor) -> Tensor:
    """Keep, in every group ``g``, the ``quotas[g]`` positions of lowest
    score; ties keep position order (stable sorts).

    Shared by the random class-balanced sampler (random scores) and the
    confidence-aware sampler (confidence scores).

    Args:
        positions (Tensor): Candidate positions, shape (P,).
        group (Tensor): Group index of each candidate, ``0..G-1``, (P,).
        score (Tensor): Ranking score of each candidate, (P,).
        quotas (Tensor): How many to keep per group, (G,).
        group_sizes (Tensor): Number of candidates per group, (G,).

    Returns:
        Tensor: The kept positions, grouped by group, best first.
    """
    order = torch.argsort(score, stable=True)
    order = order[torch.argsort(group[order], stable=True)]
    sorted_group = group[order]
    starts = torch.cumsum(group_sizes, 0) - group_sizes
    rank = torch.arange(
        order.numel(), device=positions.device) - starts[sorted_group]
    return positions[order[rank < quotas[sorted_group]]]


@MODELS.register_module()
class ClassBalancedPixelSampler:
    """Draw a class-balanced random subset of labelled pixels per image.

    For each image: drop ``ignore_index`` pixels and classes with fewer than
    ``min_pixels`` pixels, split the budget evenly over the remaining classes
    (water-filling, :func:`balanced_quotas`), and draw each class's quota
    uniformly at random without replacement. With ``class_balanced=False``
    the budget is drawn uniformly from all labelled pixels instead.

    Sampling runs without gradient. Where its randomness comes from:

    - ``seeds`` given (what the package's contrastive losses do, through
      :class:`SampleSeeder`): image *b* draws from a CPU
      ``torch.Generator`` seeded with ``seeds[b]``, independently of the
      other images, the device and the global RNG;
    - ``generator`` given: all images draw from it, one after the other;
    - neither: the global torch RNG, one image after the other.

    Args:
        max_samples_per_image (int): Budget per image. Defaults to 256.
        ignore_index (int, optional): Label never sampled (negative labels
            never are either). Defaults to 255.
        min_pixels (int): Classes with fewer pixels in an image are not
            sampled from that image. Defaults to 1.
        class_balanced (bool): Split the budget over classes; otherwise draw
            uniformly over labelled pixels. Defaults to True.
    """

    def __init__(self,
                 max_samples_per_image: int = 256,
                 ignore_index: Optional[int] = 255,
                 min_pixels: int = 1,
                 class_balanced: bool = True) -> None:
        if max_samples_per_image < 1:
            raise ValueError('max_samples_per_image must be positive, got '
                             f'{max_samples_per_image}')
        self.max_samples_per_image = max_samples_per_image
        self.ignore_index = ignore_index
        self.min_pixels = max(1, min_pixels)
        self.class_balanced = class_balanced

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_samples_per_image='
                f'{self.max_samples_per_image}, ignore_index='
                f'{self.ignore_index}, min_pixels={self.min_pixels}, '
                f'class_balanced={self.class_balanced})')

    @staticmethod
    def _rand(n: int, device: torch.device,
              generator: Optional[torch.Generator]) -> Tensor:
        if generator is None:
            return torch.rand(n, device=device)
        return torch.rand(
            n, generator=generator, device=generator.device).to(device)

    def _sample_image(self, labels: Tensor,
                      generator: Optional[torch.Generator]) -> Tensor:
        """Flat indices sampled from one label map of shape (H*W,)."""
        positions = labelled_positions(labels, self.ignore_index)
        if positions.numel() == 0:
            return positions
        classes = labels[positions]
        if not self.class_balanced:
            if self.min_pixels > 1:
                _, inverse, counts = torch.unique(
                    classes, return_inverse=True, return_counts=True)
                positions = positions[counts[inverse] >= self.min_pixels]
            keys = self._rand(positions.numel(), positions.device, generator)
            order = keys.argsort()[:self.max_samples_per_image]
            return positions[order]

        _, inverse, counts = torch.unique(
            classes, return_inverse=True, return_counts=True)
        counts_list = [
            c if c >= self.min_pixels else 0 for c in counts.tolist()
        ]
        quotas = torch.tensor(
            balanced_quotas(counts_list, self.max_samples_per_image),
            device=positions.device)
        # A random key per pixel: each class keeps its quota of lowest keys.
        keys = self._rand(positions.numel(), positions.device, generator)
        return take_lowest_per_group(positions, inverse, keys, quotas, counts)

    @torch.no_grad()
    def sample(self,
               seg_label: Tensor,
               generator: Optional[torch.Generator] = None,
               seeds: Optional[Sequence[int]] = None) -> PixelSamples:
        """Sample positions from each image of a batch.

        Args:
            seg_label (Tensor): Label maps, shape (B, H, W) or (B, 1, H, W).
            generator (torch.Generator, optional): Source of randomness for
                all images. Defaults to None.
            seeds (Sequence[int], optional): One seed per image: image *b*
                draws from its own CPU generator seeded with ``seeds[b]``
                (see :func:`per_image_seeds`). Not together with
                ``generator``. Defaults to None (use ``generator``, or the
                global RNG when that is None too).

        Returns:
            PixelSamples: At most ``B * max_samples_per_image`` samples, image
            by image. Empty tensors when no pixel is labelled.
        """
        if seg_label.dim() == 4:
            seg_label = seg_label.squeeze(1)
        if seg_label.dim() != 3:
            raise ValueError('seg_label must have shape (B, H, W) or '
                             f'(B, 1, H, W), got {tuple(seg_label.shape)}')
        if seeds is not None:
            if generator is not None:
                raise ValueError('give either generator or seeds, not both')
            if len(seeds) != seg_label.shape[0]:
                raise ValueError(f'{len(seeds)} seeds for a batch of '
                                 f'{seg_label.shape[0]} label maps')
        flat = seg_label.flatten(1).long()
        batch_inds, flat_inds = [], []
        for b in range(flat.shape[0]):
            if seeds is not None:
                generator = torch.Generator().manual_seed(int(seeds[b]))
            inds = self._sample_image(flat[b], generator)
            flat_inds.append(inds)
            batch_inds.append(torch.full_like(inds, b))
        batch_inds_t = torch.cat(batch_inds)
        flat_inds_t = torch.cat(flat_inds)
        return PixelSamples(batch_inds_t, flat_inds_t,
                            flat[batch_inds_t, flat_inds_t])

    @staticmethod
    def gather(feats: Tensor, samples: PixelSamples) -> Tensor:
        """Pick the sampled positions out of a feature map.

        Args:
            feats (Tensor): Features at the label resolution, shape
                (B, D, H, W).
            samples (PixelSamples): Output of :meth:`sample`.

        Returns:
            Tensor: The sampled feature vectors, shape (N, D). Gradients
            flow back into ``feats``.
        """
        flat = feats.flatten(2)  # (B, D, H*W)
        return flat[samples.batch_inds, :, samples.flat_inds]
