"""Class-balanced random sampling of labelled pixel positions.

The budget is **per image**: every image contributes at most
``max_samples_per_image`` positions whatever the batch size, so a loss built
on the samples does not change with the number of GPUs a batch is split over
(MS/CS, Pissas et al. ECCV 2022, issue #4 shows what a per-GPU budget does).
Memory is O(H x W) per image for the labels and O(budget) for the samples.
"""
from typing import List, NamedTuple, Optional, Sequence

import torch
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


@MODELS.register_module()
class ClassBalancedPixelSampler:
    """Draw a class-balanced random subset of labelled pixels per image.

    For each image: drop ``ignore_index`` pixels and classes with fewer than
    ``min_pixels`` pixels, split the budget evenly over the remaining classes
    (water-filling, :func:`balanced_quotas`), and draw each class's quota
    uniformly at random without replacement. With ``class_balanced=False``
    the budget is drawn uniformly from all labelled pixels instead.

    Sampling runs without gradient and is deterministic given a
    ``torch.Generator`` (or the global RNG state when none is given).

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
        valid = labels >= 0
        if self.ignore_index is not None:
            valid &= labels != self.ignore_index
        positions = valid.nonzero(as_tuple=True)[0]
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
        # A random key per pixel, sorted within each class: a pixel is kept
        # when its rank inside its class is below the class quota.
        keys = self._rand(positions.numel(), positions.device, generator)
        order = torch.argsort(inverse.double() + keys.double())
        sorted_class = inverse[order]
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.arange(
            order.numel(), device=positions.device) - starts[sorted_class]
        keep = rank < quotas[sorted_class]
        return positions[order[keep]]

    @torch.no_grad()
    def sample(self,
               seg_label: Tensor,
               generator: Optional[torch.Generator] = None) -> PixelSamples:
        """Sample positions from each image of a batch.

        Args:
            seg_label (Tensor): Label maps, shape (B, H, W) or (B, 1, H, W).
            generator (torch.Generator, optional): Source of randomness.
                Defaults to None (the global RNG).

        Returns:
            PixelSamples: At most ``B * max_samples_per_image`` samples, image
            by image. Empty tensors when no pixel is labelled.
        """
        if seg_label.dim() == 4:
            seg_label = seg_label.squeeze(1)
        if seg_label.dim() != 3:
            raise ValueError('seg_label must have shape (B, H, W) or '
                             f'(B, 1, H, W), got {tuple(seg_label.shape)}')
        flat = seg_label.flatten(1).long()
        batch_inds, flat_inds = [], []
        for b in range(flat.shape[0]):
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
