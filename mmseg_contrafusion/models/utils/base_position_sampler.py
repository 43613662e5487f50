"""What the position samplers share: their result type, the candidates of
an image, the per-group pick and the gather of sampled features."""
from typing import Callable, NamedTuple, Optional

import torch
from torch import Tensor


class SampledPositions(NamedTuple):
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


def labelled_positions(labels: Tensor, ignore_index: Optional[int]) -> Tensor:
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


class BasePositionSampler:
    """Base of the samplers that return labelled pixel *positions*.

    Unlike mmseg's ``BasePixelSampler`` (e.g. ``OHEMPixelSampler``), which
    returns a weight for every pixel of the loss, these return at most
    ``max_samples_per_image`` positions of each image
    (:class:`SampledPositions`) for a contrastive loss to gather its
    embeddings at (:meth:`gather`). The budget is per image, so a loss built
    on the samples does not depend on how a batch is split across
    processes, and memory is bounded by the budget. Subclasses choose the
    positions of one image; the loop over the batch is here.

    Args:
        max_samples_per_image (int): Budget per image.
        ignore_index (int, optional): Label never sampled (negative labels
            never are either).
    """

    def __init__(self, max_samples_per_image: int,
                 ignore_index: Optional[int]) -> None:
        if max_samples_per_image < 1:
            raise ValueError('max_samples_per_image must be positive, got '
                             f'{max_samples_per_image}')
        self.max_samples_per_image = max_samples_per_image
        self.ignore_index = ignore_index

    @staticmethod
    def random_keys(n: int, device: torch.device,
                    generator: Optional[torch.Generator]) -> Tensor:
        """``n`` uniform keys in [0, 1) on ``device``, from ``generator``
        (any device) or the global RNG."""
        if generator is None:
            return torch.rand(n, device=device)
        return torch.rand(
            n, generator=generator, device=generator.device).to(device)

    @staticmethod
    def label_maps(seg_label: Tensor) -> Tensor:
        """Labels as (B, H, W), from (B, H, W) or (B, 1, H, W)."""
        if seg_label.dim() == 4 and seg_label.shape[1] == 1:
            seg_label = seg_label.squeeze(1)
        if seg_label.dim() != 3:
            raise ValueError('seg_label must have shape (B, H, W) or '
                             f'(B, 1, H, W), got {tuple(seg_label.shape)}')
        return seg_label

    @staticmethod
    def collect(flat_labels: Tensor,
                sample_image: Callable[[int], Tensor]) -> SampledPositions:
        """Run ``sample_image(b)`` for every image and stack the results.

        Args:
            flat_labels (Tensor): Labels, shape (B, H*W), long.
            sample_image (callable): Image index -> its flat positions.

        Returns:
            SampledPositions: The samples, image by image.
        """
        batch_inds, flat_inds = [], []
        for b in range(flat_labels.shape[0]):
            inds = sample_image(b)
            flat_inds.append(inds)
            batch_inds.append(torch.full_like(inds, b))
        batch_inds_t = torch.cat(batch_inds)
        flat_inds_t = torch.cat(flat_inds)
        return SampledPositions(batch_inds_t, flat_inds_t,
                                flat_labels[batch_inds_t, flat_inds_t])

    @staticmethod
    def gather(feats: Tensor, samples: SampledPositions) -> Tensor:
        """Pick the sampled positions out of a feature map.

        Args:
            feats (Tensor): Features at the label resolution, shape
                (B, D, H, W).
            samples (SampledPositions): Output of ``sample``.

        Returns:
            Tensor: The sampled feature vectors, shape (N, D). Gradients
            flow back into ``feats``.
        """
        flat = feats.flatten(2)  # (B, D, H*W)
        return flat[samples.batch_inds, :, samples.flat_inds]
