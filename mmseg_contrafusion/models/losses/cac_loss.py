"""The confidence-aware contrastive (CAC) loss."""
from typing import Optional, Sequence

import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS
from ..utils.contrastive_utils import (LABEL_DOWNSAMPLE_MODES, attached_zero,
                                       downsample_labels, mean_over_images,
                                       split_by_image)
from .contrastive_kernel import contrastive_kernel

#: ``CACLoss(reduction=...)``: over the classes present, over the reference
#: code's ``max(y) + 1`` class bins, over the anchors.
REDUCTIONS = ('class_balanced', 'class_bins', 'mean')


def cac_pair_weights(probs: Tensor, labels: Tensor) -> Tensor:
    r"""Symmetric, confidence-derived pair weights of CAC.

    .. math::
        W_{ij} = 1 - \tfrac{1}{2} \big( q_i[y_j] + q_j[y_i] \big)

    Confidently correct positive pairs (:math:`q_i[y] \approx q_j[y]
    \approx 1`) get a weight near 0; a negative pair that the weight branch
    confuses (:math:`q_i[y_k]` large) repels less. The diagonal is
    :math:`1 - q_i[y_i]`; the loss excludes it.

    Args:
        probs (Tensor): Class probabilities :math:`q` of the samples, shape
            (N, K).
        labels (Tensor): Class :math:`y` of each sample, shape (N,), long,
            each in ``[0, K)``.

    Returns:
        Tensor: :math:`W`, shape (N, N), in [0, 1].
    """
    cross = probs[:, labels]  # cross[i, j] = q_i[y_j]
    return 1. - 0.5 * (cross + cross.t())


@MODELS.register_module()
class CACLoss(nn.Module):
    r"""Confidence-aware contrastive loss (Lv et al., ACM MM 2023).

    "Confidence-Aware Contrastive Learning for Semantic Segmentation", Lv,
    Liu, Kan and Liang, ACM MM 2023. A supervised-contrastive loss over
    sampled pixel embeddings :math:`z_i` (unit norm) with labels :math:`y_i`
    in which every pair is weighted by :func:`cac_pair_weights` from the
    softmax :math:`q` of a weight branch. With :math:`s_{ij} = z_i \cdot z_j
    / \tau` and positives :math:`P(i) = \{j \neq i: y_j = y_i\}`:

    .. math::
        \ell_i = -\frac{\tau}{\tau_b} \frac{1}{|P(i)|} \sum_{j \in P(i)}
        W_{ij} \Big[ s_{ij} - \log \sum_{k \neq i} W_{ik} e^{s_{ik}} \Big]

    computed by :func:`contrastive_kernel` (``denominator='supcon'``, fp32).
    Anchors without a positive get no loss.

    Reduction (``reduction='class_balanced'``): the mean over the classes
    present of the per-class mean of :math:`\ell_i` (anchors with a
    positive). The reference code instead takes a scatter-mean over
    ``max(y) + 1`` bins, where absent classes below the largest label count
    as zeros and anchors without a positive count as 0 in their class:
    ``reduction='class_bins'`` (:func:`.class_bin_mean`) does that, for
    parity, at a scale of (classes present) / (largest label + 1) of the
    present-class mean that changes with the batch.

    Batches: with ``cross_image=False`` (default) the samples of each image
    are contrasted with the samples of the same image only and

    .. math::
        L = \lambda \cdot \frac{1}{B} \sum_{b=1}^{B} L_b

    over all *B* images of the call (:math:`L_b = 0`, attached to the graph,
    for an image without samples or without an anchor that has a positive):
    the package's batch rule,
    :func:`~mmseg_contrafusion.models.utils.mean_over_images`. Hence the
    loss of a batch is exactly the mean of the losses of its images, and,
    since DDP averages gradients over processes holding equally many images,
    splitting a batch across processes changes neither the loss nor the
    gradient (the CAMAS budget is per image too). ``cross_image=True``
    contrasts all samples of the call with each other (the reference code:
    the 2 images of a GPU), which depends on the split by design.

    Labels: the loss receives sampled labels; the caller brings the label
    map to the embedding resolution before sampling with
    :meth:`resize_labels` (``label_downsample``; by default the label at
    each cell's centre, where the reference code takes the top-left pixel
    with ``F.interpolate(mode='nearest')``, ``'nearest'`` here).

    Pair weights: with ``detach_pair_weights=True`` (default) :math:`q` is
    detached, so the weight branch learns only from its own cross-entropy
    (the stop-gradient of the paper's abstract). The reference code does
    not detach :math:`q` (only the branch's input); ``False`` reproduces
    that.

    Args:
        loss_weight (float): :math:`\lambda`. Defaults to 0.4.
        temperature (float): :math:`\tau`. Defaults to 0.1.
        base_temperature (float): :math:`\tau_b`; the loss is scaled by
            :math:`\tau / \tau_b`. Defaults to 0.07.
        reduction (str): ``'class_balanced'`` (over the classes present),
            ``'class_bins'`` (over ``max(y) + 1`` class bins, the reference
            code's) or ``'mean'`` (over the anchors with a positive).
            Defaults to ``'class_balanced'``.
        detach_pair_weights (bool): Detach :math:`q`. Defaults to True.
        cross_image (bool): Contrast the samples of different images of the
            call with each other. Defaults to False.
        normalize (bool): L2-normalise the embeddings first. Defaults to
            False (they are expected to be unit norm).
        label_downsample (str): How :meth:`resize_labels` brings labels to
            the embedding resolution (:func:`downsample_labels`):
            ``'center'`` (the label at each cell's centre), ``'majority'``
            (the cell's most frequent labelled class) or ``'nearest'`` (the
            top-left pixel, as the reference code). Defaults to
            ``'center'``.
        ignore_index (int): Label of unlabelled pixels, for
            :meth:`resize_labels`. Defaults to 255.
        loss_name (str): Name of the loss in the log; it must start with
            ``loss_`` to be back-propagated. Defaults to ``'loss_cac'``.
    """

    def __init__(self,
                 loss_weight: float = 0.4,
                 temperature: float = 0.1,
                 base_temperature: float = 0.07,
                 reduction: str = 'class_balanced',
                 detach_pair_weights: bool = True,
                 cross_image: bool = False,
                 normalize: bool = False,
                 label_downsample: str = 'center',
                 ignore_index: int = 255,
                 loss_name: str = 'loss_cac') -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got '
                             f'{reduction!r}')
        if label_downsample not in LABEL_DOWNSAMPLE_MODES:
            raise ValueError('label_downsample must be one of '
                             f'{LABEL_DOWNSAMPLE_MODES}, got '
                             f'{label_downsample!r}')
        if temperature <= 0 or base_temperature <= 0:
            raise ValueError('temperature and base_temperature must be '
                             f'positive, got {temperature}, '
                             f'{base_temperature}')
        self.loss_weight = loss_weight
        self.temperature = temperature
        self.base_temperature = base_temperature
        self.reduction = reduction
        self.detach_pair_weights = detach_pair_weights
        self.cross_image = cross_image
        self.normalize = normalize
        self.label_downsample = label_downsample
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, temperature='
                f'{self.temperature}, base_temperature='
                f'{self.base_temperature}, reduction={self.reduction!r}, '
                f'detach_pair_weights={self.detach_pair_weights}, '
                f'cross_image={self.cross_image}, '
                f'label_downsample={self.label_downsample!r}')

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item in the log (``loss_*``)."""
        return self._loss_name

    def resize_labels(self, seg_label: Tensor, size: Sequence[int]) -> Tensor:
        """Labels at the embedding resolution (:func:`downsample_labels`).

        What a caller (e.g. :class:`CACBranch`) gives the anchor sampler.

        Args:
            seg_label (Tensor): Labels, shape (B, H, W) or (B, 1, H, W).
            size (Sequence[int]): ``(h, w)`` of the embeddings.

        Returns:
            Tensor: Labels of shape (B, h, w) or (B, 1, h, w), long, by
            ``label_downsample``.
        """
        return downsample_labels(seg_label, size, self.ignore_index,
                                 self.label_downsample)

    def set_loss(self, embeds: Tensor, labels: Tensor,
                 probs: Tensor) -> Optional[Tensor]:
        """Unweighted CAC loss of one set of samples contrasted together.

        Args:
            embeds (Tensor): Embeddings, shape (N, D).
            labels (Tensor): Classes, shape (N,).
            probs (Tensor): Weight-branch probabilities, shape (N, K).

        Returns:
            Tensor or None: The reduced loss (a scalar), zero (attached)
            when no anchor has a positive; None when N = 0.
        """
        if labels.numel() == 0:
            return None
        if self.detach_pair_weights:
            probs = probs.detach()
        return contrastive_kernel(
            embeds,
            None,
            labels[:, None] == labels[None, :],
            temperature=self.temperature,
            base_temperature=self.base_temperature,
            pair_weights=cac_pair_weights(probs.float(), labels),
            exclude_self=True,
            denominator='supcon',
            anchor_labels=labels,
            reduction=self.reduction,
            normalize=self.normalize)

    def forward(self,
                embeds: Tensor,
                labels: Tensor,
                probs: Tensor,
                batch_inds: Optional[Tensor] = None,
                num_images: Optional[int] = None,
                **kwargs) -> Tensor:
        """Compute the weighted loss.

        Args:
            embeds (Tensor): Sampled embeddings :math:`z`, shape (N, D).
            labels (Tensor): Their classes :math:`y`, shape (N,), long.
            probs (Tensor): Weight-branch softmax :math:`q` at the samples,
                shape (N, K).
            batch_inds (Tensor, optional): Image of each sample, shape (N,).
                None means one image. Defaults to None.
            num_images (int, optional): *B*, the images of the batch (also
                those without samples). None means ``batch_inds.max() + 1``
                (1 without ``batch_inds``). Defaults to None.

        Returns:
            Tensor: ``loss_weight`` times the loss (a scalar). It is zero,
            still attached to ``embeds`` (and to ``probs`` unless detached),
            when there are no samples or no anchor has a positive.
        """
        zero = attached_zero(embeds)
        if not self.detach_pair_weights:
            zero = zero + attached_zero(probs)
        if batch_inds is None or self.cross_image:
            loss = self.set_loss(embeds, labels, probs)
            if loss is None:
                return zero
            return self.loss_weight * loss + zero
        if num_images is None:
            num_images = int(batch_inds.max()) + 1 if len(batch_inds) else 1
        per_image = [
            self.set_loss(embeds[keep], labels[keep], probs[keep])
            for keep in split_by_image(batch_inds, num_images)
        ]
        return self.loss_weight * mean_over_images(per_image, zero) + zero
