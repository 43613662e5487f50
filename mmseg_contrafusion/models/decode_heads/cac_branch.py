"""The training-only branch of CAC that a decode head attaches."""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, Sequential
from torch import Tensor

from mmseg.models.utils import resize
from mmseg.registry import MODELS, TASK_UTILS
from mmseg.structures.sampler import BasePixelSampler
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from ..utils.contrastive_utils import label_batch
from ..utils.projection_head import ProjectionHead

# The weight branch's loss: cross-entropy weighted by beta = 1.5.
_WEIGHT_BRANCH_LOSS = dict(
    type='CrossEntropyLoss',
    use_sigmoid=False,
    loss_weight=1.5,
    loss_name='loss_ce_weight')


def _complete(cfg: ConfigType, default: dict) -> dict:
    """``cfg`` without a ``type`` is read as changes to ``default``."""
    cfg = dict(cfg)
    return cfg if 'type' in cfg else {**default, **cfg}


@MODELS.register_module()
class CACBranch(BaseModule):
    r"""Projection head, weight branch, CAMAS sampler and CAC loss in one.

    CAC (Lv et al., "Confidence-Aware Contrastive Learning for Semantic
    Segmentation", ACM MM 2023) adds to a decode head, for training only:

    1. a projection head (:class:`ProjectionHead`, 1x1 conv, norm, act,
       1x1 conv, L2 norm) on the head's features ``x``; its gradient reaches
       the head and the encoder(s);
    2. a *weight branch*: a second classifier (``weight_num_convs``
       ConvModules, then a 1x1 conv to ``num_classes``) on ``x.detach()``,
       trained with its own loss (``weight_branch_loss``, cross-entropy
       weighted by :math:`\beta`, logged as ``loss_ce_weight``); its softmax
       :math:`q` gives the pair weights;
    3. the CAMAS sampler (:class:`ConfidenceAwarePositionSampler`), ranking by
       the segmentation head's own logits;
    4. the loss (:class:`CACLoss`, logged as ``loss_cac``).

    A head calls :meth:`loss` from its ``loss`` method only; nothing of this
    branch runs at inference. Every parameter of the branch gets a gradient
    at every step (also with a loss weight of 0 and on an all-ignore batch),
    so DDP needs no ``find_unused_parameters``.

    Differences from the reference code by default, each an option: the
    reference's projection head has a residual second layer,
    ``z = h + Conv(h)`` (``proj_residual=True``; the same set of affine maps
    of ``h`` as a plain 1x1 conv ``Conv(h)``), and its weight-branch loss
    reuses the per-pixel weights of the head's pixel sampler, OHEM in every
    released config (``share_pixel_sampler=True``).

    Args:
        in_channels (int): Channels of the features ``x``.
        num_classes (int): Classes of the weight branch (those of the head).
        embed_dim (int): Width of the embeddings. Defaults to 256.
        proj_channels (int, optional): Hidden width of the projection head.
            None means ``embed_dim``. Defaults to None.
        weight_channels (int, optional): Width of the weight branch's convs.
            None means ``in_channels``. Defaults to None.
        weight_num_convs (int): ConvModules of the weight branch before its
            classifier. Defaults to 1.
        weight_kernel_size (int): Their kernel size. Defaults to 1.
        proj_residual (bool): Residual second layer of the projection head
            (:class:`ProjectionHead` ``residual``, the reference's); needs
            ``proj_channels == embed_dim``. Defaults to False.
        share_pixel_sampler (bool): Weight the weight branch's per-pixel
            loss with the weights of the head's pixel sampler (e.g. mmseg's
            ``OHEMPixelSampler``), computed, as the head's own loss does,
            from the segmentation logits resized to the labels (the
            reference code). The head passes its sampler to :meth:`loss`;
            a head without one gives no weights. Defaults to False.
        sampler (dict): Config of the anchor sampler. Defaults to
            ``dict(type='ConfidenceAwarePositionSampler')``.
        loss_cac (dict): Config of the contrastive loss. Defaults to
            ``dict(type='CACLoss')`` (λ 0.4, τ 0.1, τ_b 0.07).
        weight_branch_loss (dict): Config of the weight branch's loss.
            Defaults to a cross-entropy with ``loss_weight=1.5`` (β) named
            ``'loss_ce_weight'``.
        (A ``sampler``, ``loss_cac`` or ``weight_branch_loss`` config without
        ``type`` changes only the keys it gives of its default.)
        ignore_index (int): Label of unlabelled pixels. Defaults to 255.
        align_corners (bool): ``align_corners`` of the resizes. Defaults to
            False.
        conv_cfg (dict, optional): Config of conv layers. Defaults to None.
        norm_cfg (dict, optional): Config of norm layers. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Config of activations. Defaults to
            ``dict(type='ReLU')``.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to a normal init (std 0.01) of the weight classifier,
            as mmseg's ``conv_seg``.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        embed_dim: int = 256,
        proj_channels: Optional[int] = None,
        weight_channels: Optional[int] = None,
        weight_num_convs: int = 1,
        weight_kernel_size: int = 1,
        proj_residual: bool = False,
        share_pixel_sampler: bool = False,
        sampler: ConfigType = dict(type='ConfidenceAwarePositionSampler'),
        loss_cac: ConfigType = dict(type='CACLoss'),
        weight_branch_loss: ConfigType = _WEIGHT_BRANCH_LOSS,
        ignore_index: int = 255,
        align_corners: bool = False,
        conv_cfg: OptConfigType = None,
        norm_cfg: OptConfigType = dict(type='BN'),
        act_cfg: ConfigType = dict(type='ReLU'),
        init_cfg: OptMultiConfig = dict(
            type='Normal', std=0.01, override=dict(name='weight_cls'))
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 2:
            raise ValueError('CAC needs a softmax over at least 2 classes, '
                             f'got num_classes={num_classes}')
        if weight_num_convs < 0:
            raise ValueError('weight_num_convs must be >= 0, got '
                             f'{weight_num_convs}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.align_corners = align_corners
        self.share_pixel_sampler = share_pixel_sampler
        self.proj = ProjectionHead(
            in_channels,
            embed_dim=embed_dim,
            hidden_channels=proj_channels or embed_dim,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            residual=proj_residual)
        weight_channels = weight_channels or in_channels
        convs = []
        for i in range(weight_num_convs):
            convs.append(
                ConvModule(
                    in_channels if i == 0 else weight_channels,
                    weight_channels,
                    kernel_size=weight_kernel_size,
                    padding=weight_kernel_size // 2,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
        self.weight_convs = Sequential(*convs)
        self.weight_cls = nn.Conv2d(
            weight_channels if weight_num_convs else in_channels,
            num_classes,
            kernel_size=1)
        self.sampler = TASK_UTILS.build(
            _complete(sampler, dict(type='ConfidenceAwarePositionSampler')))
        self.loss_cac = MODELS.build(_complete(loss_cac, dict(type='CACLoss')))
        self.weight_branch_loss = MODELS.build(
            _complete(weight_branch_loss, _WEIGHT_BRANCH_LOSS))
        for name, loss in (('loss_cac', self.loss_cac),
                           ('weight_branch_loss', self.weight_branch_loss)):
            if not loss.loss_name.startswith('loss_'):
                raise ValueError(f"{name}.loss_name must start with 'loss_' "
                                 f'to be optimised, got {loss.loss_name!r}')

    def extra_repr(self) -> str:
        return (f'sampler={self.sampler}, '
                f'share_pixel_sampler={self.share_pixel_sampler}')

    def weight_logits(self, x: Tensor) -> Tensor:
        """Weight-branch logits on the detached features.

        Args:
            x (Tensor): Features, shape (B, in_channels, h, w).

        Returns:
            Tensor: Logits, shape (B, num_classes, h, w). No gradient reaches
            ``x``.
        """
        return self.weight_cls(self.weight_convs(x.detach()))

    def contrast_loss(self, embeds: Tensor, seg_logits: Tensor,
                      weight_logits: Tensor, seg_label: Tensor) -> Tensor:
        """Sample anchors (CAMAS) and compute the weighted CAC loss.

        Args:
            embeds (Tensor): Unit-norm embeddings, shape (B, D, h, w).
            seg_logits (Tensor): Segmentation logits, shape (B, K, h', w');
                resized (bilinear) to (h, w) for the ranking, no gradient.
            weight_logits (Tensor): Weight-branch logits, shape (B, K, h, w).
            seg_label (Tensor): Labels, shape (B, 1, H, W) or (B, H, W);
                brought to (h, w) by ``loss_cac.resize_labels`` (the cell
                centre's label by default).

        Returns:
            Tensor: ``loss_cac`` (a scalar, attached to ``embeds``).
        """
        size = embeds.shape[2:]
        seg_label = label_batch(seg_label)
        label = self.loss_cac.resize_labels(seg_label, size)
        seg_logits = seg_logits.detach()
        if seg_logits.shape[2:] != size:
            seg_logits = resize(
                seg_logits,
                size=size,
                mode='bilinear',
                align_corners=self.align_corners)
        samples = self.sampler.sample(seg_logits, label)
        return self.loss_cac(
            self.sampler.gather(embeds, samples),
            samples.labels,
            self.sampler.gather(weight_logits.float().softmax(dim=1), samples),
            batch_inds=samples.batch_inds,
            num_images=embeds.shape[0])

    def pixel_weights(self, pixel_sampler: Optional[BasePixelSampler],
                      seg_logits: Tensor,
                      seg_label: Tensor) -> Optional[Tensor]:
        """Per-pixel weights of the weight branch's loss.

        Args:
            pixel_sampler (BasePixelSampler, optional): The head's sampler.
            seg_logits (Tensor): Segmentation logits, shape (B, K, h', w').
            seg_label (Tensor): Labels, shape (B, 1, H, W).

        Returns:
            Tensor or None: ``pixel_sampler``'s weights of shape (B, H, W)
            on the logits resized (bilinear) to (H, W), as
            ``BaseDecodeHead.loss_by_feat`` computes them for the head's
            loss; None unless ``share_pixel_sampler`` and a sampler.
        """
        if not self.share_pixel_sampler or pixel_sampler is None:
            return None
        with torch.no_grad():
            logits = resize(
                seg_logits.detach(),
                size=seg_label.shape[2:],
                mode='bilinear',
                align_corners=self.align_corners)
            return pixel_sampler.sample(logits, seg_label)

    def loss(
            self,
            x: Tensor,
            seg_logits: Tensor,
            seg_label: Tensor,
            pixel_sampler: Optional[BasePixelSampler] = None
    ) -> Dict[str, Tensor]:
        """Both losses of the branch.

        Args:
            x (Tensor): The head's features, shape (B, in_channels, h, w)
                (e.g. the resize-concatenated HRNet levels at stride 4).
            seg_logits (Tensor): The head's segmentation logits, shape
                (B, num_classes, h', w').
            seg_label (Tensor): Labels, shape (B, 1, H, W).
            pixel_sampler (BasePixelSampler, optional): The head's pixel
                sampler (``head.sampler``), used with
                ``share_pixel_sampler``. Defaults to None.

        Returns:
            dict[str, Tensor]: ``{loss_cac.loss_name: ...,
            weight_branch_loss.loss_name: ...}``, by default ``loss_cac`` and
            ``loss_ce_weight``.
        """
        if seg_logits.shape[1] != self.num_classes:
            raise ValueError(f'seg_logits have {seg_logits.shape[1]} '
                             f'channels, the branch {self.num_classes} '
                             'classes')
        embeds = self.proj(x)
        weight_logits = self.weight_logits(x)
        seg_label = label_batch(seg_label)
        weight_seg = resize(
            weight_logits,
            size=seg_label.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        return {
            self.loss_cac.loss_name:
            self.contrast_loss(embeds, seg_logits, weight_logits, seg_label),
            self.weight_branch_loss.loss_name:
            self.weight_branch_loss(
                weight_seg,
                seg_label.squeeze(1),
                weight=self.pixel_weights(pixel_sampler, seg_logits,
                                          seg_label),
                ignore_index=self.ignore_index)
        }


def build_cac_branch(cac: OptConfigType, head: nn.Module,
                     in_channels: int) -> Optional[CACBranch]:
    """Build the :class:`CACBranch` of a decode head, or None.

    The head's ``num_classes``, ``ignore_index``, ``align_corners`` and
    conv/norm/act configs are passed unless ``cac`` sets them;
    ``weight_channels`` defaults to the head's ``channels``.

    Args:
        cac (dict, optional): Branch settings (``type`` defaults to
            ``'CACBranch'``); None means no branch.
        head (BaseDecodeHead): The head that owns the branch.
        in_channels (int): Channels of the features the branch reads.

    Returns:
        CACBranch or None.
    """
    if cac is None:
        return None
    if head.out_channels != head.num_classes:
        raise ValueError('CAC needs softmax logits (out_channels == '
                         f'num_classes), got out_channels='
                         f'{head.out_channels}, num_classes='
                         f'{head.num_classes}')
    cfg = dict(cac)
    cfg.setdefault('type', 'CACBranch')
    cfg.setdefault('weight_channels', head.channels)
    for key in ('conv_cfg', 'norm_cfg', 'act_cfg', 'ignore_index',
                'align_corners'):
        cfg.setdefault(key, getattr(head, key))
    cfg.update(in_channels=in_channels, num_classes=head.num_classes)
    return MODELS.build(cfg)
