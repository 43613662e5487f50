"""Symmetric InfoNCE between the pixel embeddings of two encoders."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS
from ..utils.class_balanced_position_sampler import \
    ClassBalancedPositionSampler
from ..utils.contrastive_utils import (LABEL_DOWNSAMPLE_MODES, attached_zero,
                                       downsample_labels, label_batch,
                                       mean_over_images, split_by_image)
from ..utils.sample_seeder import SampleSeeder
from .contrastive_kernel import contrastive_kernel

EmbedType = Union[Tensor, Sequence[Tensor]]


@MODELS.register_module()
class CrossEncoderContrastLoss(nn.Module):
    r"""Cross-encoder contrastive loss of ContraFusionNet.

    ContraFusionNet (Pandya et al., ICIP 2025) aligns a transformer encoder
    and a CNN encoder with a contrastive term. This is the corrected,
    pixel-level form (see ``contrafusionnet-seed-audit.md`` section 3.4):
    labelled positions are sampled per image (class-balanced, ignore label
    excluded) and the L2-normalised embeddings of both streams at those
    positions are contrasted with a symmetric InfoNCE, the mean of

    - transformer -> CNN: each transformer embedding is an anchor, the CNN
      embeddings are the contrast set;
    - CNN -> transformer: the reverse.

    Positives, per ``mode``:

    - ``'pixel'``: the other stream's embedding at the same position
      (CLIP-style InfoNCE; every other sampled position is a negative);
    - ``'class'``: every sample of the other stream with the same label
      (supervised contrast, SupCon denominator, Khosla et al. NeurIPS 2020).

    Both use :func:`contrastive_kernel` with ``denominator='supcon'``.

    Batches (the package's batch rule,
    :func:`~mmseg_contrafusion.models.utils.mean_over_images`): with
    ``cross_image=False`` (default) the samples of an image are contrasted
    with those of the same image only, giving :math:`L_{b,l}` for image *b*
    at level *l*, and

    .. math::
        L = \lambda \cdot \frac{1}{n} \sum_{l=1}^{n}
        \frac{1}{B} \sum_{b=1}^{B} L_{b,l}

    over **all** *B* images of the call and all *n* levels, with
    :math:`L_{b,l} = 0` (attached to the graph) when image *b* has no
    labelled pixel at level *l*. So the loss of a batch is the mean of the
    losses of its images, and, since DDP averages gradients over processes
    holding equally many images, splitting a batch across processes changes
    neither the loss nor the gradient (with the per-image sample budget and
    the per-image seeded draws below). ``cross_image=True`` contrasts the
    samples of all images of the call with each other and so depends on how
    a batch is split. Memory is O((budget)^2) per image, never
    O((H x W)^2).

    Labels are brought to each embedding map's size with
    :func:`~mmseg_contrafusion.models.utils.downsample_labels` (by default
    the label at each cell's centre, not its top-left pixel).

    Sampling is reproducible and per image: each image draws from its own
    generator, seeded from ``seed``, a step counter and a fingerprint of the
    image's label map at that level (:class:`SampleSeeder`). The counter
    (the buffer ``seeder.step``) advances once per forward in training mode
    and is saved in checkpoints, so a run resumed with ``--resume`` samples
    what the uninterrupted run samples, and an image gets the same positions
    whether it is in a batch of 2 on one process or alone on one of two
    processes. A ``generator`` given to :meth:`forward` overrides this (all
    images then draw from it); ``seed=None`` draws from the global torch RNG.

    Args:
        mode (str): ``'pixel'`` or ``'class'``. Defaults to ``'pixel'``.
        temperature (float): Softmax temperature. Defaults to 0.07.
        base_temperature (float, optional): Scales the loss by
            ``temperature / base_temperature``. Defaults to None (no scaling).
        loss_weight (float): Weight of the loss. Defaults to 0.1.
        max_samples_per_image (int): Positions sampled per image and feature
            level. Defaults to 256.
        class_balanced (bool): Spread the budget evenly over the classes of
            each image. Defaults to True.
        min_pixels (int): Classes with fewer pixels (at the embedding
            resolution) are not sampled. Defaults to 1.
        ignore_index (int): Label of unlabelled pixels. Defaults to 255.
        directions (str): ``'both'`` (symmetric), ``'t2c'`` (transformer
            anchors only) or ``'c2t'`` (CNN anchors only). Defaults to
            ``'both'``.
        cross_image (bool): Also use the samples of the other images of the
            batch (on this process) as negatives/positives. Defaults to False.
        reduction (str): Reduction over the anchors of an image (of the
            call with ``cross_image=True``): ``'mean'`` or
            ``'class_balanced'`` (mean over the classes present). Defaults to
            ``'mean'``.
        label_downsample (str): How labels are brought to each embedding
            map's size (:func:`downsample_labels`): ``'center'`` (the label
            at each cell's centre), ``'majority'`` (the cell's most frequent
            labelled class) or ``'nearest'`` (the top-left pixel, as
            ``F.interpolate``). Defaults to ``'center'``.
        loss_name (str): Name of the loss in the log; it must start with
            ``loss_`` to be back-propagated. Defaults to ``'loss_contrast'``.
        seed (int, optional): Base seed of the per-image sampling (not
            mmengine's ``randomness.seed``). None samples from the global
            torch RNG instead (not reproducible across ``--resume`` or batch
            splits). Defaults to 0.
    """

    def __init__(self,
                 mode: str = 'pixel',
                 temperature: float = 0.07,
                 base_temperature: Optional[float] = None,
                 loss_weight: float = 0.1,
                 max_samples_per_image: int = 256,
                 class_balanced: bool = True,
                 min_pixels: int = 1,
                 ignore_index: int = 255,
                 directions: str = 'both',
                 cross_image: bool = False,
                 reduction: str = 'mean',
                 label_downsample: str = 'center',
                 loss_name: str = 'loss_contrast',
                 seed: Optional[int] = 0) -> None:
        super().__init__()
        if mode not in ('pixel', 'class'):
            raise ValueError(f"mode must be 'pixel' or 'class', got {mode!r}")
        if directions not in ('both', 't2c', 'c2t'):
            raise ValueError("directions must be 'both', 't2c' or 'c2t', "
                             f'got {directions!r}')
        if reduction not in ('mean', 'class_balanced'):
            raise ValueError("reduction must be 'mean' or 'class_balanced', "
                             f'got {reduction!r}')
        if label_downsample not in LABEL_DOWNSAMPLE_MODES:
            raise ValueError('label_downsample must be one of '
                             f'{LABEL_DOWNSAMPLE_MODES}, got '
                             f'{label_downsample!r}')
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got '
                             f'{temperature}')
        self.mode = mode
        self.temperature = temperature
        self.base_temperature = base_temperature
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self.directions = directions
        self.cross_image = cross_image
        self.reduction = reduction
        self.label_downsample = label_downsample
        self.sampler = ClassBalancedPositionSampler(
            max_samples_per_image=max_samples_per_image,
            ignore_index=ignore_index,
            min_pixels=min_pixels,
            class_balanced=class_balanced)
        self.seeder = SampleSeeder(seed)
        self._loss_name = loss_name

    def extra_repr(self) -> str:
        return (f'mode={self.mode!r}, temperature={self.temperature}, '
                f'loss_weight={self.loss_weight}, directions='
                f'{self.directions!r}, cross_image={self.cross_image}, '
                f'label_downsample={self.label_downsample!r}, '
                f'sampler={self.sampler}')

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item in the log (``loss_*``)."""
        return self._loss_name

    def pair_loss(self, t_samples: Tensor, c_samples: Tensor,
                  labels: Tensor) -> Tensor:
        """Loss between embeddings sampled at the same positions.

        Args:
            t_samples (Tensor): Transformer embeddings, shape (N, D),
                L2-normalised.
            c_samples (Tensor): CNN embeddings at the same N positions,
                shape (N, D), L2-normalised.
            labels (Tensor): Class of each position, shape (N,).

        Returns:
            Tensor: The unweighted loss (a scalar), the mean of the enabled
            directions.
        """
        if self.mode == 'pixel':
            pos_mask = torch.eye(
                labels.numel(), dtype=torch.bool, device=labels.device)
        else:
            pos_mask = labels[:, None] == labels[None, :]
        kwargs = dict(
            temperature=self.temperature,
            base_temperature=self.base_temperature,
            exclude_self=False,
            denominator='supcon',
            anchor_labels=labels,
            reduction=self.reduction)
        losses = []
        if self.directions in ('both', 't2c'):
            losses.append(
                contrastive_kernel(t_samples, c_samples, pos_mask, **kwargs))
        if self.directions in ('both', 'c2t'):
            losses.append(
                contrastive_kernel(c_samples, t_samples, pos_mask.t(),
                                   **kwargs))
        return sum(losses) / len(losses)

    def _level_loss(self,
                    t_embed: Tensor,
                    c_embed: Tensor,
                    seg_label: Tensor,
                    generator: Optional[torch.Generator],
                    zero: Tensor,
                    step: Optional[int] = None,
                    stream: str = '') -> Tensor:
        """Unweighted loss of one feature level.

        Without ``generator``, the positions are drawn with the per-image
        seeds of ``step`` and ``stream`` (:meth:`SampleSeeder.image_seeds`).

        Returns:
            Tensor: With ``cross_image=False`` the mean over all images of
            the per-image losses (:func:`mean_over_images`; 0 for an image
            without samples), else the loss of all samples together; a
            scalar, ``zero`` when nothing is sampled.
        """
        if c_embed.shape[2:] != t_embed.shape[2:]:
            c_embed = F.normalize(
                F.interpolate(
                    c_embed,
                    size=t_embed.shape[2:],
                    mode='bilinear',
                    align_corners=False),
                dim=1)
        label = self.resize_labels(seg_label, t_embed.shape[2:])
        seeds = None if generator is not None else \
            self.seeder.image_seeds(label, step, stream)
        samples = self.sampler.sample(label, generator=generator, seeds=seeds)
        if len(samples) == 0:
            return zero
        t_samples = self.sampler.gather(t_embed, samples)
        c_samples = self.sampler.gather(c_embed, samples)
        if self.cross_image:
            return self.pair_loss(t_samples, c_samples, samples.labels) + zero
        per_image = [
            self.pair_loss(t_samples[keep], c_samples[keep],
                           samples.labels[keep]) if keep.numel() else None
            for keep in split_by_image(samples.batch_inds, label.shape[0])
        ]
        return mean_over_images(per_image, zero)

    def resize_labels(self, seg_label: Tensor, size: Sequence[int]) -> Tensor:
        """Labels at an embedding map's size (:func:`downsample_labels`).

        Args:
            seg_label (Tensor): Labels, shape (B, H, W) or (B, 1, H, W).
            size (Sequence[int]): ``(h, w)``.

        Returns:
            Tensor: Labels of shape (B, h, w) or (B, 1, h, w), long, by
            ``label_downsample``.
        """
        return downsample_labels(seg_label, size, self.ignore_index,
                                 self.label_downsample)

    def forward(self,
                transformer_embeds: EmbedType,
                cnn_embeds: EmbedType,
                seg_label: Tensor,
                generator: Optional[torch.Generator] = None,
                **kwargs) -> Tensor:
        """Compute the weighted loss.

        Args:
            transformer_embeds (Tensor | Sequence[Tensor]): L2-normalised
                transformer embeddings, shape (B, D, h, w), or one such map
                per feature level.
            cnn_embeds (Tensor | Sequence[Tensor]): CNN embeddings, same
                shapes (a map of another size is resized to the transformer
                map's size and re-normalised).
            seg_label (Tensor): Labels, shape (B, H, W) or (B, 1, H, W); they
                are brought to each embedding map's size by
                ``label_downsample``.
            generator (torch.Generator, optional): Randomness of the
                sampler for all images. Defaults to None: per-image seeded
                draws (see the class docstring), which advance the step
                counter in training mode.

        Returns:
            Tensor: ``loss_weight`` times the mean over all levels of the
            level losses (each the mean over all images, see the class
            docstring). Zero (still attached to every embedding's graph)
            when no position is labelled.
        """
        if isinstance(transformer_embeds, Tensor):
            transformer_embeds = [transformer_embeds]
        if isinstance(cnn_embeds, Tensor):
            cnn_embeds = [cnn_embeds]
        if len(transformer_embeds) != len(cnn_embeds):
            raise ValueError('transformer_embeds and cnn_embeds must have '
                             'the same number of levels')
        seg_label = label_batch(seg_label)
        # A zero that touches every embedding keeps all projection heads in
        # the graph (DDP without find_unused_parameters) in every case.
        zero = attached_zero(*transformer_embeds, *cnn_embeds)
        step = self.seeder.next_step() if generator is None else None
        # Every level counts, also one without samples (a zero): a fixed
        # weight per (image, level) term keeps the batch rule exact.
        losses: List[Tensor] = [
            self._level_loss(t_embed, c_embed, seg_label, generator, zero,
                             step, f'level{level}')
            for level, (
                t_embed,
                c_embed) in enumerate(zip(transformer_embeds, cnn_embeds))
        ]
        if not losses:
            return zero
        return self.loss_weight * torch.stack(losses).mean() + zero
