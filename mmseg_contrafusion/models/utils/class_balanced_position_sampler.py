"""Class-balanced random sampling of labelled pixel positions.

The budget is **per image**: every image contributes at most
``max_samples_per_image`` positions whatever the batch size, so a loss built
on the samples does not change with the number of GPUs a batch is split over
(MS/CS, Pissas et al. ECCV 2022, issue #4 shows what a per-GPU budget does).
Memory is O(H x W) per image for the labels and O(budget) for the samples.
Draws are reproducible per image with the seeds of :class:`SampleSeeder`.
"""
from typing import List, Optional, Sequence

import torch
from torch import Tensor

from mmseg.registry import TASK_UTILS
from .base_position_sampler import (BasePositionSampler, SampledPositions,
                                    labelled_positions, take_lowest_per_group)


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


@TASK_UTILS.register_module()
class ClassBalancedPositionSampler(BasePositionSampler):
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
        super().__init__(max_samples_per_image, ignore_index)
        self.min_pixels = max(1, min_pixels)
        self.class_balanced = class_balanced

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_samples_per_image='
                f'{self.max_samples_per_image}, ignore_index='
                f'{self.ignore_index}, min_pixels={self.min_pixels}, '
                f'class_balanced={self.class_balanced})')

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
            keys = self.random_keys(positions.numel(), positions.device,
                                    generator)
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
        keys = self.random_keys(positions.numel(), positions.device, generator)
        return take_lowest_per_group(positions, inverse, keys, quotas, counts)

    @torch.no_grad()
    def sample(self,
               seg_label: Tensor,
               generator: Optional[torch.Generator] = None,
               seeds: Optional[Sequence[int]] = None) -> SampledPositions:
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
            SampledPositions: At most ``B * max_samples_per_image`` samples,
            image
            by image. Empty tensors when no pixel is labelled.
        """
        seg_label = self.label_maps(seg_label)
        if seeds is not None:
            if generator is not None:
                raise ValueError('give either generator or seeds, not both')
            if len(seeds) != seg_label.shape[0]:
                raise ValueError(f'{len(seeds)} seeds for a batch of '
                                 f'{seg_label.shape[0]} label maps')
        flat = seg_label.flatten(1).long()

        def sample_image(b: int) -> Tensor:
            image_generator = generator
            if seeds is not None:
                image_generator = torch.Generator().manual_seed(int(seeds[b]))
            return self._sample_image(flat[b], image_generator)

        return self.collect(flat, sample_image)
