"""Multi-scale and cross-scale supervised contrast over encoder levels."""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS
from ..utils.class_balanced_position_sampler import \
    ClassBalancedPositionSampler
from ..utils.contrastive_utils import (LABEL_DOWNSAMPLE_MODES, attached_zero,
                                       downsample_labels, label_batch,
                                       mean_over_images, split_by_image)
from ..utils.sample_seeder import SampleSeeder
from .contrastive_kernel import contrastive_kernel


class ScaleSamples(NamedTuple):
    """Embeddings sampled at one scale (feature level).

    Attributes:
        feats (Tensor): Sampled embeddings, shape (N, D).
        labels (Tensor): Class of each sample, shape (N,), long.
        batch_inds (Tensor): Image of each sample, shape (N,), long.
    """
    feats: Tensor
    labels: Tensor
    batch_inds: Tensor


@MODELS.register_module()
class MultiScaleCrossScaleContrastLoss(nn.Module):
    r"""Multi-scale (MS) and cross-scale (CS) supervised contrastive loss.

    MS/CS (Pissas et al., "Multi-scale and Cross-scale Contrastive Learning
    for Semantic Segmentation", ECCV 2022) contrasts the encoder's own
    multi-level features, each mapped by its own projection head into one
    L2-normalised embedding space (see :class:`MultiScaleContrastHead`). At
    every scale *s* labelled positions are drawn at random, class-balanced,
    per image (:class:`ClassBalancedPositionSampler`; labels brought to the
    scale by ``label_downsample``). With
    :math:`s_{ij} = z_i \cdot z_j / \tau`, positives :math:`P(i)` (same
    class) and negatives :math:`N(i)` (other classes):

    .. math::
        \ell_i = -\frac{1}{|P(i)|} \sum_{j \in P(i)} \log
        \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k \in N(i)} e^{s_{ik}}}

    (the per-positive denominator, :func:`contrastive_kernel` with
    ``denominator='per_positive'``; no base-temperature rescaling).

    - **Within-scale** term :math:`L^s_{ms}`: the samples of scale *s*
      against themselves (self-pairs excluded), mean over anchors.
    - **Cross-scale** term :math:`L_{cs}(a, c)`: the samples of the
      high-resolution scale *a* (stride 4) are the anchors, those of the
      low-resolution scale *c* the contrast set (no self-exclusion).

    Batches, per ``cross_image``:

    - ``True`` (default; the original, which "links features from different
      images"): all samples of the call are contrasted with each other and
      each term is the mean over all its anchors. This pools the images of
      a process by design, so the loss depends on how a batch is split
      across processes (and on the images per process); it cannot follow
      the package's batch rule.
    - ``False``: the package's batch rule
      (:func:`~mmseg_contrafusion.models.utils.mean_over_images`): every
      term is computed per image *b* (its samples against its own samples,
      mean over its anchors) and averaged over **all** *B* images of the
      call, :math:`L^s_{ms} = \frac{1}{B} \sum_b L^s_{ms}(b)`, with 0 for
      an image without samples at that scale (or without an anchor that has
      a positive). The loss of a batch is then the mean of the losses of
      its images, and the loss and its gradient (DDP averages gradients over
      processes) do not depend on how a batch is split.

    The returned terms are

    .. math::
        \text{loss\_ms} = \lambda \sum_s w_s L^s_{ms}, \qquad
        \text{loss\_cs} = \lambda \sum_{(a, c)} w_{ac} L_{cs}(a, c)

    with the paper's defaults :math:`\lambda = 0.1`, :math:`\tau = 0.1`,
    :math:`w = [1, 0.7, 0.4, 0.1]` from high to low resolution and the pairs
    (stride 4, stride 32) and (stride 4, stride 16) with weight 1 each.

    Differences from the original code, on purpose:

    - The sample budget is **per image** (``max_samples_per_image`` per image
      and scale, split evenly over the image's classes by water-filling);
      the original draws V samples per (image, class) with V set by the
      smallest region and at most 10000 per GPU. A per-image budget keeps
      the sample count per image independent of the batch split (the
      original's per-GPU budget is the subject of its issue #4).
    - Anchors without any positive (e.g. a class absent from the
      low-resolution samples) are left out of the mean; the original counts
      them as zeros, which rescales the term by a batch-dependent factor.
    - Labels are brought to each scale with
      :func:`~mmseg_contrafusion.models.utils.downsample_labels`, by default
      the label at each cell's centre; the original's
      ``F.interpolate(mode='nearest')`` takes the cell's top-left pixel
      (``label_downsample='nearest'`` reproduces it).
    - A batch without labelled pixels gives zero losses that are still
      attached to every embedding (the original crashes on an empty
      ``torch.min``).
    - Everything is computed in fp32 (the kernel turns autocast off).
    - Sampling is reproducible: each image draws from its own generator,
      seeded from ``seed``, a step counter and a fingerprint of the image's
      label map at that scale (:class:`SampleSeeder`). The counter (the
      buffer ``seeder.step``) advances once per forward in training mode and
      is saved in checkpoints, so ``--resume`` continues the uninterrupted
      run's draws, and an image gets the same positions whatever batch or
      process it is in. (With ``cross_image=True`` the loss itself still
      depends on the batch on each process, since other images' samples are
      negatives.)

    Memory is O((B x ``max_samples_per_image``)^2) per term and process
    with ``cross_image=True``, O(``max_samples_per_image``^2) per image
    with ``cross_image=False``, never O((H x W)^2); with ``with_cp`` the
    backward holds one term's N x M intermediates at a time.

    Args:
        temperature (float): :math:`\tau` of the within-scale terms.
            Defaults to 0.1.
        cross_scale_temperature (float, optional): :math:`\tau` of the
            cross-scale terms; None means ``temperature``. Defaults to None.
        scale_weights (Sequence[float]): :math:`w_s`, one per scale (the
            embedding maps given to :meth:`forward`, high to low resolution).
            Defaults to ``(1.0, 0.7, 0.4, 0.1)``.
        cross_scale_pairs (Sequence[Sequence[int]]): ``(anchor_scale,
            contrast_scale)`` index pairs into the scales. Defaults to
            ``((0, 3), (0, 2))``: stride 4 with stride 32 and with stride 16.
        cross_scale_weights (Sequence[float]): Weight of each pair. Defaults
            to ``(1.0, 1.0)``.
        loss_weight (float): :math:`\lambda`, applied to both terms.
            Defaults to 0.1.
        max_samples_per_image (int): Positions sampled per image and scale.
            Defaults to 1024.
        min_pixels (int): Classes with fewer pixels in an image at a scale
            are not sampled there (the original's ``min_views_per_class``).
            Defaults to 5.
        ignore_index (int): Label of unlabelled pixels. Defaults to 255.
        cross_image (bool): Contrast the samples of all images of the batch
            on this process (the original, which "links features from
            different images"; depends on the batch split); False computes
            every term per image and averages over the images (the batch
            rule, split-invariant). Defaults to True.
        detach_low_res (bool): Stop the cross-scale gradient into the
            low-resolution (contrast) side (the original's
            ``detach_deepest``). Defaults to False.
        label_downsample (str): How labels are brought to each scale
            (:func:`downsample_labels`): ``'center'`` (the label at each
            cell's centre), ``'majority'`` (the cell's most frequent
            labelled class) or ``'nearest'`` (the top-left pixel, as the
            original). Defaults to ``'center'``.
        ms_loss_name (str): Log key of the within-scale term. Defaults to
            ``'loss_ms'``.
        cs_loss_name (str): Log key of the cross-scale term. Defaults to
            ``'loss_cs'``.
        seed (int, optional): Base seed of the per-image sampling (not
            mmengine's ``randomness.seed``). None samples from the global
            torch RNG instead (not reproducible across ``--resume`` or batch
            splits). Defaults to 0.
        with_cp (bool): Gradient checkpointing of every term's kernel
            (:func:`contrastive_kernel`): the backward pass computes each
            term's N x M intermediates again instead of keeping those of all
            terms (4 within-scale and 2 cross-scale terms by default) from
            the forward; the values and gradients are unchanged. Defaults to
            True.
    """

    def __init__(self,
                 temperature: float = 0.1,
                 cross_scale_temperature: Optional[float] = None,
                 scale_weights: Sequence[float] = (1.0, 0.7, 0.4, 0.1),
                 cross_scale_pairs: Sequence[Sequence[int]] = ((0, 3), (0, 2)),
                 cross_scale_weights: Sequence[float] = (1.0, 1.0),
                 loss_weight: float = 0.1,
                 max_samples_per_image: int = 1024,
                 min_pixels: int = 5,
                 ignore_index: int = 255,
                 cross_image: bool = True,
                 detach_low_res: bool = False,
                 label_downsample: str = 'center',
                 ms_loss_name: str = 'loss_ms',
                 cs_loss_name: str = 'loss_cs',
                 seed: Optional[int] = 0,
                 with_cp: bool = True) -> None:
        super().__init__()
        cs_temperature = (
            temperature
            if cross_scale_temperature is None else cross_scale_temperature)
        if temperature <= 0 or cs_temperature <= 0:
            raise ValueError('temperatures must be positive, got '
                             f'{temperature} and {cs_temperature}')
        pairs = tuple(
            tuple(int(i) for i in pair) for pair in cross_scale_pairs)
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError('cross_scale_pairs must hold (anchor_scale, '
                             f'contrast_scale) pairs, got {pairs}')
        if len(cross_scale_weights) != len(pairs):
            raise ValueError(
                f'{len(cross_scale_weights)} cross_scale_weights for '
                f'{len(pairs)} cross_scale_pairs')
        num_scales = len(scale_weights)
        if any(not 0 <= i < num_scales for pair in pairs for i in pair):
            raise ValueError(f'cross_scale_pairs {pairs} index beyond the '
                             f'{num_scales} scales of scale_weights')
        if label_downsample not in LABEL_DOWNSAMPLE_MODES:
            raise ValueError('label_downsample must be one of '
                             f'{LABEL_DOWNSAMPLE_MODES}, got '
                             f'{label_downsample!r}')
        for name in (ms_loss_name, cs_loss_name):
            if not name.startswith('loss_'):
                raise ValueError(f'loss names must start with "loss_" to be '
                                 f'back-propagated, got {name!r}')
        self.temperature = temperature
        self.cross_scale_temperature = cs_temperature
        self.scale_weights = tuple(float(w) for w in scale_weights)
        self.cross_scale_pairs = pairs
        self.cross_scale_weights = tuple(float(w) for w in cross_scale_weights)
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self.cross_image = cross_image
        self.detach_low_res = detach_low_res
        self.label_downsample = label_downsample
        self.ms_loss_name = ms_loss_name
        self.cs_loss_name = cs_loss_name
        self.with_cp = with_cp
        self.sampler = ClassBalancedPositionSampler(
            max_samples_per_image=max_samples_per_image,
            ignore_index=ignore_index,
            min_pixels=min_pixels,
            class_balanced=True)
        self.seeder = SampleSeeder(seed)

    @property
    def num_scales(self) -> int:
        """int: Number of scales (embedding maps) the loss expects."""
        return len(self.scale_weights)

    @property
    def loss_names(self) -> Tuple[str, ...]:
        """tuple[str]: Log keys returned by :meth:`forward`."""
        if self.cross_scale_pairs:
            return (self.ms_loss_name, self.cs_loss_name)
        return (self.ms_loss_name, )

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, cross_scale_temperature='
                f'{self.cross_scale_temperature}, scale_weights='
                f'{self.scale_weights}, cross_scale_pairs='
                f'{self.cross_scale_pairs}, cross_scale_weights='
                f'{self.cross_scale_weights}, loss_weight={self.loss_weight}, '
                f'cross_image={self.cross_image}, label_downsample='
                f'{self.label_downsample!r}, sampler={self.sampler}')

    @staticmethod
    def _num_images(*samples: ScaleSamples) -> int:
        inds = [
            int(x.batch_inds.max()) + 1 for x in samples
            if x.batch_inds.numel()
        ]
        return max(inds, default=1)

    def _within(self, feats: Tensor, labels: Tensor) -> Tensor:
        return contrastive_kernel(
            feats,
            None,
            labels[:, None] == labels[None, :],
            temperature=self.temperature,
            exclude_self=True,
            denominator='per_positive',
            reduction='mean',
            with_cp=self.with_cp)

    def _cross(self, anchor_feats: Tensor, anchor_labels: Tensor,
               contrast_feats: Tensor, contrast_labels: Tensor) -> Tensor:
        return contrastive_kernel(
            anchor_feats,
            contrast_feats,
            anchor_labels[:, None] == contrast_labels[None, :],
            temperature=self.cross_scale_temperature,
            exclude_self=False,
            denominator='per_positive',
            reduction='mean',
            with_cp=self.with_cp)

    def within_scale_loss(self,
                          samples: ScaleSamples,
                          num_images: Optional[int] = None) -> Tensor:
        """Unweighted within-scale term of one scale.

        Args:
            samples (ScaleSamples): The scale's samples, L2-normalised.
            num_images (int, optional): *B*, the images of the batch (also
                those without samples), for ``cross_image=False``. None
                means ``samples.batch_inds.max() + 1``. Defaults to None.

        Returns:
            Tensor: A scalar, attached to ``samples.feats``: with
            ``cross_image=True`` the mean over the anchors of the call that
            have a positive; with ``cross_image=False`` the mean over all
            images of that mean per image (0 for an image without one).
        """
        zero = attached_zero(samples.feats)
        if samples.labels.numel() == 0:
            return zero
        if self.cross_image:
            return self._within(samples.feats, samples.labels)
        if num_images is None:
            num_images = self._num_images(samples)
        per_image = [
            self._within(samples.feats[keep], samples.labels[keep])
            if keep.numel() else None
            for keep in split_by_image(samples.batch_inds, num_images)
        ]
        return mean_over_images(per_image, zero)

    def cross_scale_loss(self,
                         anchors: ScaleSamples,
                         contrast: ScaleSamples,
                         num_images: Optional[int] = None) -> Tensor:
        """Unweighted cross-scale term of one (anchor, contrast) scale pair.

        Args:
            anchors (ScaleSamples): Samples of the high-resolution scale.
            contrast (ScaleSamples): Samples of the low-resolution scale.
            num_images (int, optional): *B*, for ``cross_image=False``. None
                means the largest image index of either set plus 1.
                Defaults to None.

        Returns:
            Tensor: A scalar, attached to both sets: with
            ``cross_image=True`` the mean over the anchors of the call that
            have a positive in ``contrast``; with ``cross_image=False`` the
            mean over all images of that mean per image (each image's
            anchors against its own contrast samples; 0 for an image without
            an anchor that has one).
        """
        contrast_feats = contrast.feats.detach() \
            if self.detach_low_res else contrast.feats
        zero = attached_zero(anchors.feats, contrast_feats)
        if anchors.labels.numel() == 0 or contrast.labels.numel() == 0:
            return zero
        if self.cross_image:
            return self._cross(anchors.feats, anchors.labels, contrast_feats,
                               contrast.labels)
        if num_images is None:
            num_images = self._num_images(anchors, contrast)
        per_image = []
        for a_keep, c_keep in zip(
                split_by_image(anchors.batch_inds, num_images),
                split_by_image(contrast.batch_inds, num_images)):
            if a_keep.numel() == 0 or c_keep.numel() == 0:
                per_image.append(None)
                continue
            per_image.append(
                self._cross(anchors.feats[a_keep], anchors.labels[a_keep],
                            contrast_feats[c_keep], contrast.labels[c_keep]))
        return mean_over_images(per_image, zero)

    @torch.no_grad()
    def _scale_label(self, seg_label: Tensor, size: Tuple[int, int]) -> Tensor:
        return downsample_labels(seg_label, size, self.ignore_index,
                                 self.label_downsample)

    def sample(self,
               embeds: Sequence[Tensor],
               seg_label: Tensor,
               generator: Optional[torch.Generator] = None,
               step: Optional[int] = None) -> List[ScaleSamples]:
        """Draw the samples of every scale (independently per scale).

        Args:
            embeds (Sequence[Tensor]): One embedding map per scale, shape
                (B, D, H_s, W_s).
            seg_label (Tensor): Labels, shape (B, H, W) or (B, 1, H, W);
                brought to each scale by ``label_downsample``.
            generator (torch.Generator, optional): Randomness of the
                sampler for all images. Defaults to None (per-image seeded
                draws, see the class docstring).
            step (int, optional): Step of the per-image seeds. Defaults to
                None (the current value of the counter, not advanced).

        Returns:
            list[ScaleSamples]: Per scale, at most
            ``B * max_samples_per_image`` samples.
        """
        seg_label = label_batch(seg_label)
        out = []
        for scale, embed in enumerate(embeds):
            label = self._scale_label(seg_label, embed.shape[2:])
            seeds = None if generator is not None else \
                self.seeder.image_seeds(label, step, f'scale{scale}')
            picked = self.sampler.sample(
                label, generator=generator, seeds=seeds)
            out.append(
                ScaleSamples(
                    self.sampler.gather(embed, picked), picked.labels,
                    picked.batch_inds))
        return out

    def forward(self,
                embeds: Sequence[Tensor],
                seg_label: Tensor,
                generator: Optional[torch.Generator] = None,
                **kwargs) -> Dict[str, Tensor]:
        """Compute the weighted within-scale and cross-scale terms.

        Args:
            embeds (Sequence[Tensor]): L2-normalised embeddings, one map per
                scale from high to low resolution, shape (B, D, H_s, W_s).
            seg_label (Tensor): Labels, shape (B, H, W) or (B, 1, H, W).
            generator (torch.Generator, optional): Randomness of the
                sampler for all images. Defaults to None: per-image seeded
                draws (see the class docstring), which advance the step
                counter in training mode.

        Returns:
            dict[str, Tensor]: ``{ms_loss_name: loss_ms, cs_loss_name:
            loss_cs}`` (the latter only with cross-scale pairs), each a
            scalar attached to every embedding map, zero when no position is
            labelled.
        """
        if len(embeds) != self.num_scales:
            raise ValueError(f'{len(embeds)} embedding maps for '
                             f'{self.num_scales} scale_weights')
        # A zero touching every map keeps all projection heads in the graph
        # (DDP without find_unused_parameters), whatever was sampled.
        zero = attached_zero(*embeds)
        step = self.seeder.next_step() if generator is None else None
        samples = self.sample(embeds, seg_label, generator, step)
        num_images = seg_label.shape[0]
        ms_loss = zero
        for weight, scale in zip(self.scale_weights, samples):
            if weight and len(scale.labels):
                ms_loss = ms_loss + weight * self.within_scale_loss(
                    scale, num_images)
        losses = {self.ms_loss_name: self.loss_weight * ms_loss}
        if self.cross_scale_pairs:
            cs_loss = zero
            for weight, (a, c) in zip(self.cross_scale_weights,
                                      self.cross_scale_pairs):
                if weight and len(samples[a].labels) and len(
                        samples[c].labels):
                    cs_loss = cs_loss + weight * self.cross_scale_loss(
                        samples[a], samples[c], num_images)
            losses[self.cs_loss_name] = self.loss_weight * cs_loss
        return losses
