"""The contrastive kernel shared by every contrastive loss of the package.

One function, :func:`contrastive_kernel`, computes an InfoNCE-family loss from
two sets of embeddings and a positive mask. The losses of the package are thin
wrappers that choose its arguments:

- cross-encoder InfoNCE (ContraFusionNet, Pandya et al., ICIP 2025): anchors
  from one encoder, contrast from the other, ``pos_mask`` = identity (mode
  ``'pixel'``) or same class (mode ``'class'``), ``denominator='supcon'``;
- supervised contrast (SupCon, Khosla et al., NeurIPS 2020): one set against
  itself, ``exclude_self=True``, ``denominator='supcon'``;
- pixel contrast (ContrastiveSeg, Wang et al., ICCV 2021) and multi-/cross-
  scale contrast (MS/CS, Pissas et al., ECCV 2022): ``denominator=
  'per_positive'``;
- confidence-aware contrast (CAC, Lv et al., ACM MM 2023): ``pair_weights``
  W_ij, ``denominator='supcon'``, ``base_temperature`` and
  ``reduction='class_balanced'``.

Memory is O(N x M) for N anchors and M contrast samples: callers bound N and M
with a per-image sample budget (see
:mod:`~mmseg_contrafusion.models.utils.class_balanced_position_sampler`),
never with the number
of pixels.
"""
from typing import Optional

import torch
import torch.utils.checkpoint as cp
from torch import Tensor

from ..utils.contrastive_utils import attached_zero

_DENOMINATORS = ('supcon', 'per_positive')
_REDUCTIONS = ('mean', 'class_balanced', 'class_bins', 'none')


def class_balanced_mean(values: Tensor,
                        labels: Tensor,
                        valid: Optional[Tensor] = None) -> Tensor:
    """Mean over the classes present of the per-class mean of ``values``.

    Unlike a scatter-mean over ``max(label) + 1`` bins (the CAC reference
    code), classes absent from ``labels`` (or from ``valid``) do not count.

    Args:
        values (Tensor): Per-sample values, shape (N,).
        labels (Tensor): Integer class of each sample, shape (N,).
        valid (Tensor, optional): Bool mask of the samples to use, shape (N,).
            Defaults to None (all).

    Returns:
        Tensor: A scalar. It is ``values.sum() * 0`` (zero, still attached to
        the graph) when no sample is valid.
    """
    if valid is None:
        valid = torch.ones_like(labels, dtype=torch.bool)
    if not bool(valid.any()):
        return attached_zero(values)
    values = values[valid]
    classes, inverse = torch.unique(labels[valid], return_inverse=True)
    sums = values.new_zeros(len(classes)).index_add(0, inverse, values)
    counts = values.new_zeros(len(classes)).index_add(0, inverse,
                                                      torch.ones_like(values))
    return (sums / counts).mean()


def class_bin_mean(values: Tensor, labels: Tensor) -> Tensor:
    """Mean over ``max(labels) + 1`` class bins of the per-class mean.

    The class-balanced mean of the CAC reference code (a scatter-mean of
    the per-sample values by label, then the mean of that vector): bin *c*
    holds the mean of the values of the samples labelled *c*, and a class
    without samples below the largest label is a bin of 0 that still
    counts. So the result is :func:`class_balanced_mean` times
    (classes present) / (largest label + 1), a factor that changes with the
    labels of the batch. For parity with the reference only.

    Args:
        values (Tensor): Per-sample values, shape (N,).
        labels (Tensor): Class of each sample, shape (N,), long, >= 0.

    Returns:
        Tensor: A scalar; zero, still attached to the graph, when N = 0.
    """
    if labels.numel() == 0:
        return attached_zero(values)
    num_bins = int(labels.max()) + 1
    sums = values.new_zeros(num_bins).index_add(0, labels, values)
    counts = values.new_zeros(num_bins).index_add(0, labels,
                                                  torch.ones_like(values))
    return (sums / counts.clamp(min=1)).mean()


def contrastive_kernel(anchors: Tensor,
                       contrast: Optional[Tensor],
                       pos_mask: Tensor,
                       *,
                       temperature: float = 0.07,
                       base_temperature: Optional[float] = None,
                       pair_weights: Optional[Tensor] = None,
                       valid_mask: Optional[Tensor] = None,
                       exclude_self: Optional[bool] = None,
                       denominator: str = 'supcon',
                       anchor_labels: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       normalize: bool = False,
                       eps: float = 1e-12,
                       with_cp: bool = False) -> Tensor:
    r"""InfoNCE / supervised-contrastive loss over anchor-contrast pairs.

    With :math:`s_{ij} = a_i \cdot c_j / \tau`, pair set :math:`V(i)` (the
    pairs allowed by ``valid_mask`` and self-exclusion), positives
    :math:`P(i) = \{j \in V(i) : \text{pos\_mask}_{ij}\}`, negatives
    :math:`N(i) = V(i) \setminus P(i)` and pair weights :math:`W_{ij}`
    (1 when ``pair_weights`` is None), the loss of anchor *i* is

    - ``denominator='supcon'`` (SupCon, Khosla et al. 2020; CAC):

      .. math::
          \ell_i = -\frac{\tau}{\tau_b} \frac{1}{|P(i)|} \sum_{j \in P(i)}
          W_{ij} \Big[ s_{ij} - \log \sum_{k \in V(i)} W_{ik} e^{s_{ik}}
          \Big]

    - ``denominator='per_positive'`` (ContrastiveSeg; MS/CS): each positive
      competes only with the negatives,

      .. math::
          \ell_i = -\frac{\tau}{\tau_b} \frac{1}{|P(i)|} \sum_{j \in P(i)}
          W_{ij} \Big[ s_{ij} - \log \big( e^{s_{ij}} + \sum_{k \in N(i)}
          W_{ik} e^{s_{ik}} \big) \Big]

    With one positive per anchor and no weights both forms are the usual
    InfoNCE (cross-entropy over the row of :math:`s`). Anchors without any
    positive get no loss and are left out of the reduction. Everything is
    computed in fp32 with autocast off; the row maximum is subtracted (it
    cancels) so large :math:`1/\tau` cannot overflow.

    Args:
        anchors (Tensor): Anchor embeddings, shape (N, D). Expected
            L2-normalised unless ``normalize=True``.
        contrast (Tensor, optional): Contrast embeddings, shape (M, D). None
            means the anchors themselves (M = N), e.g. for SupCon.
        pos_mask (Tensor): Bool, shape (N, M): ``pos_mask[i, j]`` is True when
            contrast sample *j* is a positive of anchor *i*.
        temperature (float): :math:`\tau`. Defaults to 0.07.
        base_temperature (float, optional): :math:`\tau_b`; the loss is scaled
            by :math:`\tau / \tau_b`. None means :math:`\tau_b = \tau` (no
            scaling). Defaults to None.
        pair_weights (Tensor, optional): Non-negative weights
            :math:`W_{ij}`, shape (N, M). Defaults to None (all 1).
        valid_mask (Tensor, optional): Bool, shape (N, M): pairs that take
            part at all (e.g. same-image pairs only). Defaults to None (all).
        exclude_self (bool, optional): Drop the pairs (i, i). None means True
            when ``contrast`` is None (one set against itself), else False.
            Requires N == M when True. Defaults to None.
        denominator (str): ``'supcon'`` or ``'per_positive'``. Defaults to
            ``'supcon'``.
        anchor_labels (Tensor, optional): Class of each anchor, shape (N,).
            Required for ``reduction='class_balanced'`` and
            ``'class_bins'``. Defaults to None.
        reduction (str): ``'mean'`` over the anchors that have a positive,
            ``'class_balanced'`` (mean over the classes present of the
            per-class mean), ``'class_bins'`` (:func:`class_bin_mean` of all
            anchors, an anchor without a positive counting 0: the CAC
            reference code's reduction), or ``'none'`` (per-anchor losses,
            shape (N,), zero where an anchor has no positive). Defaults to
            ``'mean'``.
        normalize (bool): L2-normalise ``anchors`` and ``contrast`` first.
            Defaults to False.
        eps (float): Floor of the weighted denominator sums, so zero weights
            give no ``log(0)``. Defaults to 1e-12.
        with_cp (bool): When a gradient is needed, keep only the inputs for
            the backward pass and compute the N x M intermediates (logits,
            exponentials, log-probabilities: about ten N x M tensors) again
            there (gradient checkpointing). The loss and its gradients are
            unchanged; a loss with several terms then holds one term's
            intermediates at a time instead of all of them. Defaults to
            False.

    Returns:
        Tensor: The reduced loss (a scalar) or, with ``reduction='none'``,
        the per-anchor losses of shape (N,). When no anchor has a positive
        (e.g. N = 0) the scalar is zero and still attached to the graph, so
        the caller's backward pass (and DDP) sees every parameter.
    """
    if denominator not in _DENOMINATORS:
        raise ValueError(f'denominator must be one of {_DENOMINATORS}, '
                         f'got {denominator!r}')
    if reduction not in _REDUCTIONS:
        raise ValueError(f'reduction must be one of {_REDUCTIONS}, '
                         f'got {reduction!r}')
    if reduction in ('class_balanced', 'class_bins') \
            and anchor_labels is None:
        raise ValueError(f'reduction={reduction!r} needs anchor_labels')
    if exclude_self is None:
        exclude_self = contrast is None
    options = dict(
        temperature=temperature,
        base_temperature=base_temperature,
        exclude_self=exclude_self,
        denominator=denominator,
        reduction=reduction,
        normalize=normalize,
        eps=eps)
    inputs = (anchors, contrast, pos_mask, pair_weights, valid_mask,
              anchor_labels)
    if with_cp and torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in inputs):
        return cp.checkpoint(_kernel, *inputs, use_reentrant=False, **options)
    return _kernel(*inputs, **options)


def _kernel(anchors: Tensor, contrast: Optional[Tensor], pos_mask: Tensor,
            pair_weights: Optional[Tensor], valid_mask: Optional[Tensor],
            anchor_labels: Optional[Tensor], *, temperature: float,
            base_temperature: Optional[float], exclude_self: bool,
            denominator: str, reduction: str, normalize: bool,
            eps: float) -> Tensor:
    """:func:`contrastive_kernel` after its argument checks."""
    with torch.autocast(device_type=anchors.device.type, enabled=False):
        anchors = anchors.float()
        contrast = anchors if contrast is None else contrast.float()
        if normalize:
            anchors = torch.nn.functional.normalize(anchors, dim=1)
            contrast = torch.nn.functional.normalize(contrast, dim=1)
        num_anchors, num_contrast = anchors.shape[0], contrast.shape[0]
        if pos_mask.shape != (num_anchors, num_contrast):
            raise ValueError(f'pos_mask has shape {tuple(pos_mask.shape)}, '
                             f'expected {(num_anchors, num_contrast)}')

        logits = anchors @ contrast.t() / temperature
        valid = torch.ones_like(logits, dtype=torch.bool) \
            if valid_mask is None else valid_mask.bool()
        if exclude_self:
            if num_anchors != num_contrast:
                raise ValueError('exclude_self needs as many contrast '
                                 'samples as anchors')
            valid = valid & ~torch.eye(
                num_anchors, dtype=torch.bool, device=logits.device)
        pos = pos_mask.bool() & valid
        weights = torch.ones_like(logits) if pair_weights is None \
            else pair_weights.float()

        # Subtracting a per-row constant leaves every log-ratio unchanged.
        row_max = logits.masked_fill(~valid, float('-inf')).amax(
            dim=1, keepdim=True).detach()
        row_max = torch.where(
            torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
        shifted = logits - row_max
        # Invalid pairs may exceed the row maximum: mask before exp.
        exp = torch.exp(shifted.masked_fill(~valid, float('-inf')))

        if denominator == 'supcon':
            denom = (weights * exp).sum(dim=1, keepdim=True)
        else:
            negatives = (weights * exp * (~pos)).sum(dim=1, keepdim=True)
            denom = exp + negatives
        log_prob = shifted - torch.log(denom.clamp_min(eps))

        num_pos = pos.sum(dim=1)
        has_pos = num_pos > 0
        per_anchor = -(weights * log_prob * pos).sum(dim=1) / num_pos.clamp(
            min=1)
        if base_temperature is not None:
            per_anchor = per_anchor * (temperature / base_temperature)
        per_anchor = per_anchor * has_pos

        if reduction == 'none':
            return per_anchor
        if not bool(has_pos.any()):
            return attached_zero(logits)
        if reduction == 'mean':
            return per_anchor[has_pos].mean()
        if reduction == 'class_bins':
            return class_bin_mean(per_anchor, anchor_labels.long())
        return class_balanced_mean(per_anchor, anchor_labels, has_pos)
