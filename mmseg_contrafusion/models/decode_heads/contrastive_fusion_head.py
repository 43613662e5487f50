"""Fusion decoder of ContraFusionNet with a training-only contrastive term."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import ModuleList
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from ..segmentors.dual_feats import DualFeats
from ..utils.resize_utils import resize_to
from .cac_branch import build_cac_branch
from .two_stream_decode_head import TwoStreamDecodeHead


@MODELS.register_module()
class ContrastiveFusionHead(TwoStreamDecodeHead):
    """Decode head of ContraFusionNet: per-level fusion of two encoders.

    ContraFusionNet (Pandya et al., ICIP 2025) runs a transformer encoder and
    a CNN encoder side by side. This head reads both multi-level feature
    lists (:class:`DualFeats`) and

    1. projects every level of each stream to the common width ``channels``
       and fuses the two streams level by level (the shared front-end
       :class:`TwoStreamFusion`: 1x1 ConvModules, for the PSP variant a
       pyramid pooling module on the deepest CNN level, PSPNet, Zhao et al.
       2017; :class:`FusionBlock` ``'gated'``, ``'sum'`` or ``'concat'``);
    2. decodes all-MLP style as SegFormer (Xie et al., NeurIPS 2021):
       upsample every level to the finest (stride 4), concatenate, 1x1
       ConvModule, optionally after an additive top-down (FPN-style) path;
    3. classifies with ``cls_seg``.

    In training (:meth:`loss` only) a :class:`CrossEncoderContrastBranch`
    embeds the pre-fusion laterals of both streams at ``contrast_levels``
    and ``loss_contrast`` (e.g. :class:`CrossEncoderContrastLoss`) aligns
    them; the result is logged as its own ``loss_*`` key next to those of
    ``loss_decode`` (e.g. ``loss_ce`` and ``loss_dice``). :meth:`forward`
    (used by ``predict`` and the ``tensor`` mode) never runs any
    contrastive module.

    With one stream (``transformer_in_channels`` or ``cnn_in_channels``
    None) the head is a plain all-MLP decoder on that stream: no fusion, no
    contrast.

    Args:
        transformer_in_channels (Sequence[int], optional): Channels of the
            transformer levels, e.g. ``[64, 128, 256, 512]``. None without a
            transformer.
        cnn_in_channels (Sequence[int], optional): Channels of the CNN levels,
            e.g. ``[256, 512, 1024, 2048]`` (ResNet-50). None without a CNN.
        channels (int): The common width of both streams and of the decoder.
        fusion (str): ``'gated'``, ``'sum'`` or ``'concat'``. Defaults to
            ``'gated'``.
        top_down (bool): Add each coarser fused level to the next finer one
            (followed by a 1x1 ConvModule) before the all-MLP decode.
            Defaults to False.
        pool_scales (Sequence[int], optional): Pyramid pooling on the deepest
            CNN level (the PSP variant); None for a plain 1x1 projection.
            Defaults to None.
        ppm_channels (int, optional): Channels of each pooled branch. None
            means ``channels``. Defaults to None.
        contrast_levels (Sequence[int]): Levels (positions in ``in_index``)
            whose features are contrasted. Defaults to ``(2, 3)``.
        embed_dim (int): Width of the contrastive embeddings. Defaults to 128.
        proj_channels (int, optional): Hidden width of the projection heads.
            None means ``channels``. Defaults to None.
        loss_contrast (dict, optional): Config of the contrastive loss; None
            disables it (and builds no projection head). Defaults to
            ``dict(type='CrossEncoderContrastLoss')``.
        cac (dict, optional): Settings of a :class:`CACBranch` (CAC, Lv et
            al., ACM MM 2023) on the fused features (the ``num_levels``
            fused levels at the finest resolution, concatenated: the input
            of the decoder's 1x1 fusion conv); it adds ``loss_cac`` and
            ``loss_ce_weight`` in training. None (default) builds none.
        interpolate_mode (str): Upsampling mode of the decoder. Defaults to
            ``'bilinear'``.
        in_index (Sequence[int]): Levels of each stream used. Defaults to
            ``(0, 1, 2, 3)``.
        **kwargs: :class:`BaseDecodeHead` arguments (``num_classes``,
            ``dropout_ratio``, ``norm_cfg``, ``loss_decode``, ...).
    """

    def __init__(self,
                 transformer_in_channels: Optional[Sequence[int]],
                 cnn_in_channels: Optional[Sequence[int]],
                 channels: int,
                 fusion: str = 'gated',
                 top_down: bool = False,
                 pool_scales: Optional[Sequence[int]] = None,
                 ppm_channels: Optional[int] = None,
                 contrast_levels: Sequence[int] = (2, 3),
                 embed_dim: int = 128,
                 proj_channels: Optional[int] = None,
                 loss_contrast: OptConfigType = dict(
                     type='CrossEncoderContrastLoss'),
                 cac: OptConfigType = None,
                 interpolate_mode: str = 'bilinear',
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 **kwargs) -> None:
        if transformer_in_channels is None and cnn_in_channels is None:
            raise ValueError('ContrastiveFusionHead needs at least one '
                             'stream: set transformer_in_channels and/or '
                             'cnn_in_channels')
        super().__init__(
            transformer_in_channels,
            cnn_in_channels,
            channels=channels,
            fusion=fusion,
            pool_scales=pool_scales,
            ppm_channels=ppm_channels,
            contrast_levels=contrast_levels,
            embed_dim=embed_dim,
            proj_channels=proj_channels,
            loss_contrast=loss_contrast,
            in_index=in_index,
            **kwargs)
        self.interpolate_mode = interpolate_mode
        self.top_down = top_down
        self.pool_scales = pool_scales
        self.contrast_levels = tuple(contrast_levels)
        conv_kwargs = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        # Optional top-down path, then the all-MLP decoder.
        self.top_down_convs = None
        if top_down:
            self.top_down_convs = ModuleList(
                ConvModule(channels, channels, 1, **conv_kwargs)
                for _ in range(self.num_levels - 1))
        self.fusion_conv = ConvModule(
            channels * self.num_levels,
            channels,
            1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg)
        # Training-only CAC branch on the fused features.
        self.cac_branch = build_cac_branch(cac, self,
                                           channels * self.num_levels)

    @property
    def with_transformer(self) -> bool:
        """bool: Whether the head takes a transformer stream."""
        return self.transformer_in_channels is not None

    @property
    def with_cnn(self) -> bool:
        """bool: Whether the head takes a CNN stream."""
        return self.cnn_in_channels is not None

    @property
    def with_cac(self) -> bool:
        """bool: Whether the training loss has the CAC terms."""
        return self.cac_branch is not None

    def extra_repr(self) -> str:
        return (super().extra_repr() + f', fusion={self.fusion!r}, '
                f'top_down={self.top_down}, pool_scales={self.pool_scales}, '
                f'contrast_levels={self.contrast_levels}')

    def _resize(self, x: Tensor, size: Sequence[int]) -> Tensor:
        """Resize with the decoder's mode (identity at the same size)."""
        return resize_to(x, size, self.interpolate_mode, self.align_corners)

    def stack_levels(self, fused: List[Tensor]) -> Tensor:
        """The optional top-down path, then every level at the finest
        resolution, concatenated.

        Args:
            fused (list[Tensor]): ``num_levels`` fused maps
                (B, channels, H_l, W_l), finest first.

        Returns:
            Tensor: Shape (B, channels * num_levels, H/4, W/4) for stride-4
            finest features.
        """
        fused = self.top_down_path(fused)
        size = fused[0].shape[2:]
        return torch.cat([self._resize(x, size) for x in fused], dim=1)

    def top_down_path(self, fused: List[Tensor]) -> List[Tensor]:
        """The optional top-down path (coarse to fine), or the levels as
        they are.

        Args:
            fused (list[Tensor]): ``num_levels`` fused maps
                (B, channels, H_l, W_l), finest first.

        Returns:
            list[Tensor]: The same shapes.
        """
        fused = list(fused)
        if self.top_down_convs is not None:
            for i in range(self.num_levels - 2, -1, -1):
                fused[i] = self.top_down_convs[i](
                    fused[i] + self._resize(fused[i + 1], fused[i].shape[2:]))
        return fused

    def classify(self, stacked: Tensor) -> Tensor:
        """The all-MLP decoder's 1x1 fusion conv, then ``cls_seg``.

        Args:
            stacked (Tensor): Output of :meth:`stack_levels`.

        Returns:
            Tensor: Segmentation logits, shape (B, out_channels, h, w).
        """
        return self.cls_seg(self.fusion_conv(stacked))

    def decode(self, fused: List[Tensor]) -> Tensor:
        """Segmentation logits (B, out_channels, H/4, W/4) of the fused
        levels.

        The same logits as ``classify(stack_levels(fused))`` (to float
        rounding), computed without the stacked stride-4 tensor: a 1x1 conv
        commutes with (bilinear or nearest) resizing and is additive over
        the concatenated channel groups, so each level goes through its
        slice of ``fusion_conv``'s weight at its own resolution and the
        ``channels``-wide results are resized and summed, before the norm
        and the activation. The training loss keeps the stacked path, which
        CAC reads.
        """
        conv = self.fusion_conv.conv
        if not self._fusion_conv_is_pointwise():
            return self.classify(self.stack_levels(fused))
        fused = self.top_down_path(fused)
        size = fused[0].shape[2:]
        weights = conv.weight.split(self.channels, dim=1)
        out = None
        for x, weight in zip(fused, weights):
            level = self._resize(F.conv2d(x, weight), size)
            out = level if out is None else out + level
        if conv.bias is not None:
            out = out + conv.bias.view(1, -1, 1, 1)
        if self.fusion_conv.with_norm:
            out = self.fusion_conv.norm(out)
        if self.fusion_conv.with_activation:
            out = self.fusion_conv.activate(out)
        return self.cls_seg(out)

    def _fusion_conv_is_pointwise(self) -> bool:
        """Whether ``fusion_conv`` is a plain 1x1 conv, then norm, then
        activation (what :meth:`decode`'s per-level path assumes)."""
        conv = self.fusion_conv.conv
        return (type(conv) is nn.Conv2d and conv.kernel_size == (1, 1)
                and conv.groups == 1 and conv.padding == (0, 0)
                and self.fusion_conv.order == ('conv', 'norm', 'act'))

    def loss(self, inputs: DualFeats, batch_data_samples: SampleList,
             train_cfg: ConfigType) -> dict:
        """Forward and compute the losses (decode losses plus contrast).

        Args:
            inputs (DualFeats): Both streams' levels.
            batch_data_samples (list[:obj:`SegDataSample`]): Data samples
                with ``gt_sem_seg``.
            train_cfg (dict): The training config.

        Returns:
            dict[str, Tensor]: ``loss_decode`` terms by ``loss_name`` (e.g.
            ``loss_ce``, ``loss_dice``), ``acc_seg`` and, with a contrastive
            loss, its ``loss_name`` (e.g. ``loss_contrast``); with CAC,
            ``loss_cac`` and ``loss_ce_weight``.
        """
        feats = self.fuse(inputs)
        stacked = self.stack_levels(feats.fused)
        seg_logits = self.classify(stacked)
        losses = self.loss_by_feat(seg_logits, batch_data_samples)
        seg_label = self._stack_batch_gt(batch_data_samples)
        losses.update(self.contrast_loss(feats, seg_label))
        if self.with_cac:
            losses.update(
                self.cac_branch.loss(
                    stacked, seg_logits, seg_label,
                    pixel_sampler=self.sampler))
        return losses
