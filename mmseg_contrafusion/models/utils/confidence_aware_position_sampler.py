"""Confidence-aware marginal anchor sampling (CAMAS) of CAC.

CAC (Lv et al., "Confidence-Aware Contrastive Learning for Semantic
Segmentation", ACM MM 2023) draws its anchors per image and class from two
sets of the class's pixels, ranked by the segmentation head's confidence:

- *hard* pixels (labelled *c*, predicted otherwise) with the **highest**
  probability of *c*: misclassified, but nearly right;
- *easy* pixels (labelled and predicted *c*) with the **lowest** probability
  of *c*: correct, but least confident.

Both are "marginal" pixels near the decision boundary, rather than the
hardest ones. The budget is **per image** by default, so the anchors of an
image do not depend on which other images share its process;
``budget_mode='per_batch'`` splits one budget over all the images of a call,
as the reference code does with 1024 anchors per GPU.
"""
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from mmseg.registry import TASK_UTILS
from .base_position_sampler import (BasePositionSampler, SampledPositions,
                                    labelled_positions, take_lowest_per_group)

_ORDERS = ('marginal', 'random')
#: ``ConfidenceAwarePositionSampler(budget_mode=...)``.
BUDGET_MODES = ('per_image', 'per_batch')


class _Groups(NamedTuple):
    """The (image, class) groups of one image: its candidate pixels."""
    positions: Tensor  # (P,) flat positions of the pixels of the groups
    classes: Tensor  # (P,) their labels
    group: Tensor  # (P,) their group, 0..num_groups-1 (increasing class)
    num_groups: int


def hard_easy_quotas(num_hard: int, num_easy: int,
                     num_views: int) -> Tuple[int, int]:
    """How many hard and easy pixels a (image, class) group contributes.

    The rule of CAMAS (and of ContrastiveSeg's hard/easy sampler): half of
    ``num_views`` (rounded down) from the hard set and the rest from the easy
    set; when one set is short, all of it is taken and the other fills the
    remainder as far as it can.

    Args:
        num_hard (int): Hard (misclassified) pixels available.
        num_easy (int): Easy (correctly classified) pixels available.
        num_views (int): Pixels wanted from the group.

    Returns:
        tuple[int, int]: ``(hard, easy)``; they sum to
        ``min(num_views, num_hard + num_easy)``.
    """
    hard = min(num_hard, max(num_views // 2, num_views - num_easy))
    easy = min(num_easy, num_views - hard)
    return hard, easy


@TASK_UTILS.register_module()
class ConfidenceAwarePositionSampler(BasePositionSampler):
    r"""Confidence-aware marginal anchor sampling (CAMAS), per image.

    For each image *b* of a batch, at the resolution of the logits:

    1. the groups are the classes *c* (not ``ignore_index``) with **more
       than** ``threshold`` pixels; :math:`T_b` is their number;
    2. every group gets
       :math:`n_b = \min(\lfloor \text{max\_samples\_per\_image} / T_b
       \rfloor, \text{per\_class\_cap})` anchors
       (``budget_mode='per_image'``), or every group of every image gets
       :math:`n = \min(\lfloor \text{max\_samples\_per\_batch} / T
       \rfloor, \text{per\_class\_cap})` with :math:`T = \sum_b T_b`
       the groups of all images of the call (``budget_mode='per_batch'``,
       the reference code's rule for the images of one GPU);
    3. a group's pixels are split into hard ones :math:`H = \{y = c,
       \hat y \neq c\}` and easy ones :math:`E = \{y = c, \hat y = c\}`
       with :math:`\hat y = \arg\max` of the logits, and
       :func:`hard_easy_quotas` gives how many of each are taken;
    4. with ``order='marginal'`` the hard pixels with the highest
       :math:`p(c)` and the easy pixels with the lowest :math:`p(c)` are
       taken, :math:`p` the softmax of the logits (ties go to the lower
       position ``y * W + x``); with ``order='random'`` they are drawn
       uniformly.

    The default budget is per image, which makes the anchors of an image
    independent of how a batch is split across processes. The reference
    code's :math:`n = \min(\lfloor 1024 / T \rfloor, 100)` over the *T*
    groups of all images on a GPU (2 images in every released config) is
    ``budget_mode='per_batch', max_samples_per_batch=1024,
    per_class_cap=100``: there the anchors of an image depend on the other
    images of its process, so the sampling changes with the GPU count.

    Sampling runs without gradient; with ``order='marginal'`` it is
    deterministic.

    Args:
        max_samples_per_image (int): Anchor budget of an image with
            ``budget_mode='per_image'`` (unused with ``'per_batch'``).
            Defaults to 512 (the reference's 1024 per GPU over its 2
            images).
        threshold (int): A class is sampled from an image only when it has
            more than this many pixels there. Defaults to 100.
        per_class_cap (int, optional): Most anchors per (image, class) group.
            None means ``threshold`` (the reference). Defaults to None.
        order (str): ``'marginal'`` (CAMAS) or ``'random'``. Defaults to
            ``'marginal'``.
        ignore_index (int, optional): Label never sampled (negative labels
            never are either). Defaults to 255.
        budget_mode (str): ``'per_image'`` (each image has
            ``max_samples_per_image`` anchors to split over its groups) or
            ``'per_batch'`` (one budget of ``max_samples_per_batch`` anchors
            for all groups of all images of a call, the reference code's).
            Defaults to ``'per_image'``.
        max_samples_per_batch (int): Anchor budget of a call with
            ``budget_mode='per_batch'`` (unused with ``'per_image'``).
            Defaults to 1024 (the reference's, per GPU).
    """

    def __init__(self,
                 max_samples_per_image: int = 512,
                 threshold: int = 100,
                 per_class_cap: Optional[int] = None,
                 order: str = 'marginal',
                 ignore_index: Optional[int] = 255,
                 budget_mode: str = 'per_image',
                 max_samples_per_batch: int = 1024) -> None:
        super().__init__(max_samples_per_image, ignore_index)
        if threshold < 0:
            raise ValueError(f'threshold must be >= 0, got {threshold}')
        if order not in _ORDERS:
            raise ValueError(f'order must be one of {_ORDERS}, got {order!r}')
        if budget_mode not in BUDGET_MODES:
            raise ValueError(f'budget_mode must be one of {BUDGET_MODES}, '
                             f'got {budget_mode!r}')
        if max_samples_per_batch < 1:
            raise ValueError('max_samples_per_batch must be positive, got '
                             f'{max_samples_per_batch}')
        per_class_cap = threshold if per_class_cap is None else per_class_cap
        if per_class_cap < 1:
            raise ValueError('per_class_cap must be positive, got '
                             f'{per_class_cap}')
        self.threshold = threshold
        self.per_class_cap = per_class_cap
        self.order = order
        self.budget_mode = budget_mode
        self.max_samples_per_batch = max_samples_per_batch

    def __repr__(self) -> str:
        budget = (f'max_samples_per_image={self.max_samples_per_image}'
                  if self.budget_mode == 'per_image' else
                  f'max_samples_per_batch={self.max_samples_per_batch}')
        return (f'{self.__class__.__name__}(budget_mode='
                f'{self.budget_mode!r}, {budget}, threshold='
                f'{self.threshold}, per_class_cap={self.per_class_cap}, '
                f'order={self.order!r}, ignore_index={self.ignore_index})')

    def num_views(self, num_groups: int) -> int:
        """Anchors per group when the budget is split over ``num_groups``.

        Args:
            num_groups (int): :math:`T_b`, the groups of an image
                (``'per_image'``), or :math:`T`, those of all images of the
                call (``'per_batch'``).

        Returns:
            int: ``min(budget // num_groups, per_class_cap)``, 0 without
            groups.
        """
        if num_groups == 0:
            return 0
        budget = self.max_samples_per_image \
            if self.budget_mode == 'per_image' else self.max_samples_per_batch
        return min(budget // num_groups, self.per_class_cap)

    def _groups(self, labels: Tensor) -> _Groups:
        """The pixels of the classes with more than ``threshold`` pixels.

        Args:
            labels (Tensor): Labels of one image, shape (H*W,), long.
        """
        positions = labelled_positions(labels, self.ignore_index)
        classes = labels[positions]
        _, inverse, counts = torch.unique(
            classes, return_inverse=True, return_counts=True)
        in_group = counts[inverse] > self.threshold
        positions, classes, inverse = (positions[in_group], classes[in_group],
                                       inverse[in_group])
        if positions.numel() == 0:
            return _Groups(positions, classes, inverse, 0)
        # Renumber the groups 0..T-1.
        _, group = torch.unique(inverse, return_inverse=True)
        return _Groups(positions, classes, group, int(group.max()) + 1)

    def _sample_image(self, groups: _Groups, n: int, probs: Tensor,
                      generator: Optional[torch.Generator]) -> Tensor:
        """Flat indices sampled from one image.

        Args:
            groups (_Groups): The image's groups (:meth:`_groups`).
            n (int): Anchors wanted per group.
            probs (Tensor): Class probabilities, shape (K, H*W).
            generator (torch.Generator, optional): For ``order='random'``.
        """
        positions, classes, group, num_groups = groups
        if num_groups == 0 or n == 0:
            return positions[:0]

        pixel_probs = probs[:, positions]  # (K, P)
        true_prob = pixel_probs.gather(0, classes[None]).squeeze(0)
        easy = pixel_probs.argmax(dim=0) == classes
        # Sets 2g (hard) and 2g + 1 (easy) of group g.
        set_id = group * 2 + easy.long()
        set_sizes = torch.bincount(set_id, minlength=2 * num_groups)
        quotas: List[int] = []
        for num_hard, num_easy in set_sizes.view(-1, 2).tolist():
            quotas.extend(hard_easy_quotas(num_hard, num_easy, n))
        quotas_t = torch.tensor(quotas, device=positions.device)

        if self.order == 'marginal':
            # Ascending score = preferred first: hard pixels by -p(c), easy
            # pixels by p(c).
            score = torch.where(easy, true_prob, -true_prob)
        else:
            score = self.random_keys(positions.numel(), positions.device,
                                     generator)
        return take_lowest_per_group(positions, set_id, score, quotas_t,
                                     set_sizes)

    @torch.no_grad()
    def sample(
            self,
            seg_logits: Tensor,
            seg_label: Tensor,
            generator: Optional[torch.Generator] = None) -> SampledPositions:
        """Sample anchors from each image of a batch.

        Args:
            seg_logits (Tensor): Segmentation logits (before softmax) at the
                resolution to sample at, shape (B, K, H, W).
            seg_label (Tensor): Labels at the same resolution, shape
                (B, H, W) or (B, 1, H, W).
            generator (torch.Generator, optional): Randomness of
                ``order='random'``. Defaults to None (the global RNG).

        Returns:
            SampledPositions: At most ``max_samples_per_image`` samples per
            image (``'per_image'``) or ``max_samples_per_batch`` in all
            (``'per_batch'``), image by image, within an image group by
            group (classes in increasing order), hard before easy, each set
            in order of preference. Empty tensors when no class of any image
            has more than ``threshold`` pixels.
        """
        if seg_label.dim() == 4 and seg_label.shape[1] == 1:
            seg_label = seg_label.squeeze(1)
        if seg_label.dim() != 3 or seg_logits.dim() != 4:
            raise ValueError('expected seg_logits (B, K, H, W) and seg_label '
                             '(B, H, W) or (B, 1, H, W), got '
                             f'{tuple(seg_logits.shape)} and '
                             f'{tuple(seg_label.shape)}')
        if seg_logits.shape[0] != seg_label.shape[0] or \
                seg_logits.shape[2:] != seg_label.shape[1:]:
            raise ValueError('seg_logits and seg_label must have the same '
                             'batch size and spatial size, got '
                             f'{tuple(seg_logits.shape)} and '
                             f'{tuple(seg_label.shape)}')
        flat_labels = seg_label.flatten(1).long()
        probs = seg_logits.detach().float().flatten(2).softmax(dim=1)
        groups = [self._groups(labels) for labels in flat_labels]
        if self.budget_mode == 'per_batch':
            views = [self.num_views(sum(g.num_groups
                                        for g in groups))] * len(groups)
        else:
            views = [self.num_views(g.num_groups) for g in groups]
        return self.collect(
            flat_labels, lambda b: self._sample_image(groups[b], views[b],
                                                      probs[b], generator))
