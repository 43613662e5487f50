"""Fusion decoder of ContraFusionNet with a training-only contrastive term."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import ModuleList
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.psp_head import PPM
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from ..utils.cac_branch import build_cac_branch
from ..utils.fusion_block import FUSION_TYPES, FusionBlock
from ..utils.projection_head import ProjectionHead

StreamFeats = Optional[Sequence[Tensor]]


class PyramidPoolingBottleneck(nn.Module):
    """Pyramid pooling context (PSPNet) reduced to the decoder width.

    ``[x, PPM(x)] -> 3x3 ConvModule -> channels``: the pyramid pooling module
    of PSPNet (Zhao et al., CVPR 2017) followed by its bottleneck conv, used
    as the lateral projection of the deepest CNN level.

    Args:
        in_channels (int): Channels of the input (deepest CNN level).
        channels (int): Output channels (the decoder's common width).
        pool_scales (Sequence[int]): Output sizes of the adaptive pooling.
        ppm_channels (int): Channels of each pooled branch.
        conv_cfg (dict, optional): Config of conv layers.
        norm_cfg (dict, optional): Config of norm layers.
        act_cfg (dict): Config of activations.
        align_corners (bool): ``align_corners`` of the upsampling.
    """

    def __init__(self, in_channels: int, channels: int,
                 pool_scales: Sequence[int], ppm_channels: int,
                 conv_cfg: OptConfigType, norm_cfg: OptConfigType,
                 act_cfg: ConfigType, align_corners: bool) -> None:
        super().__init__()
        self.psp_modules = PPM(
            tuple(pool_scales),
            in_channels,
            ppm_channels,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            align_corners=align_corners)
        self.bottleneck = ConvModule(
            in_channels + len(pool_scales) * ppm_channels,
            channels,
            kernel_size=3,
            padding=1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, h, w) -> (B, channels, h, w)."""
        return self.bottleneck(torch.cat([x, *self.psp_modules(x)], dim=1))


@MODELS.register_module()
class ContrastiveFusionHead(BaseDecodeHead):
    """Decode head of ContraFusionNet: per-level fusion of two encoders.

    ContraFusionNet (Pandya et al., ICIP 2025) runs a transformer encoder and
    a CNN encoder side by side. This head takes both multi-level feature
    lists, ``inputs = (transformer_feats, cnn_feats)``, and

    1. projects every level of each stream to the common width ``channels``
       (1x1 ConvModule; for the PSP variant the deepest CNN level goes
       through a pyramid pooling module, PSPNet, Zhao et al. 2017);
    2. fuses the two streams level by level (:class:`FusionBlock`:
       ``'gated'``, ``'sum'`` or ``'concat'``);
    3. decodes all-MLP style as SegFormer (Xie et al., NeurIPS 2021):
       upsample every level to the finest (stride 4), concatenate, 1x1
       ConvModule, optionally after an additive top-down (FPN-style) path;
    4. classifies with ``cls_seg``.

    In training (:meth:`loss` only) projection heads (:class:`ProjectionHead`)
    embed the per-level, pre-fusion features of both streams at
    ``contrast_levels`` and ``loss_contrast`` (e.g.
    :class:`CrossEncoderContrastLoss`) aligns them; the result is logged as
    its own ``loss_*`` key next to those of ``loss_decode`` (e.g.
    ``loss_ce`` and ``loss_dice``). :meth:`forward` (used by ``predict`` and
    the ``tensor`` mode) never runs any contrastive module.

    With only one stream (``in_channels`` or ``cnn_in_channels`` None) the
    head is a plain all-MLP decoder on that stream: no fusion, no contrast.

    Args:
        in_channels (Sequence[int], optional): Channels of the transformer
            levels, e.g. ``[64, 128, 256, 512]``. None without a transformer.
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
                 in_channels: Optional[Sequence[int]],
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
        if in_channels is None and cnn_in_channels is None:
            raise ValueError('ContrastiveFusionHead needs at least one '
                             'stream: set in_channels and/or cnn_in_channels')
        for name, value in (('in_channels', in_channels),
                            ('cnn_in_channels', cnn_in_channels)):
            if value is not None and len(value) != len(in_index):
                raise ValueError(f'{name} has {len(value)} levels but '
                                 f'in_index selects {len(in_index)}')
        if fusion not in FUSION_TYPES:
            raise ValueError(f'fusion must be one of {FUSION_TYPES}, '
                             f'got {fusion!r}')
        super().__init__(
            in_channels=list(
                in_channels if in_channels is not None else cnn_in_channels),
            channels=channels,
            input_transform='multiple_select',
            in_index=list(in_index),
            **kwargs)
        self.transformer_in_channels = (
            list(in_channels) if in_channels is not None else None)
        self.cnn_in_channels = (
            list(cnn_in_channels) if cnn_in_channels is not None else None)
        self.num_levels = len(in_index)
        self.fusion = fusion
        self.top_down = top_down
        self.pool_scales = pool_scales
        self.interpolate_mode = interpolate_mode
        conv_kwargs = dict(
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

        # 1. Per-level projection of each stream to the common width.
        self.transformer_convs = None
        if self.with_transformer:
            self.transformer_convs = ModuleList(
                ConvModule(c, channels, 1, **conv_kwargs)
                for c in self.transformer_in_channels)
        self.cnn_convs = None
        if self.with_cnn:
            convs = [
                ConvModule(c, channels, 1, **conv_kwargs)
                for c in self.cnn_in_channels[:-1]
            ]
            if pool_scales is not None:
                convs.append(
                    PyramidPoolingBottleneck(
                        self.cnn_in_channels[-1],
                        channels,
                        pool_scales,
                        ppm_channels or channels,
                        align_corners=self.align_corners,
                        **conv_kwargs))
            else:
                convs.append(
                    ConvModule(self.cnn_in_channels[-1], channels, 1,
                               **conv_kwargs))
            self.cnn_convs = ModuleList(convs)
        elif pool_scales is not None:
            raise ValueError('pool_scales (the PSP context) needs a CNN '
                             'stream')

        # 2. Per-level fusion (dual-stream only).
        self.fusions = None
        if self.is_dual:
            self.fusions = ModuleList(
                FusionBlock(channels, fusion, **conv_kwargs)
                for _ in range(self.num_levels))

        # 3. Optional top-down path, then the all-MLP decoder.
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

        # Training-only contrastive branch.
        self.contrast_levels = tuple(contrast_levels)
        self.loss_contrast = None
        self.transformer_projs = None
        self.cnn_projs = None
        if loss_contrast is not None:
            if not self.is_dual:
                raise ValueError(
                    'loss_contrast needs both streams; set loss_contrast=None '
                    'for a single-encoder model')
            if not self.contrast_levels or any(
                    not 0 <= level < self.num_levels
                    for level in self.contrast_levels):
                raise ValueError(
                    f'contrast_levels {self.contrast_levels} must be a '
                    f'non-empty subset of range({self.num_levels})')
            self.loss_contrast = MODELS.build(loss_contrast)
            proj_kwargs = dict(
                embed_dim=embed_dim,
                hidden_channels=proj_channels or channels,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg)
            self.transformer_projs = ModuleList(
                ProjectionHead(channels, **proj_kwargs)
                for _ in self.contrast_levels)
            self.cnn_projs = ModuleList(
                ProjectionHead(channels, **proj_kwargs)
                for _ in self.contrast_levels)

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
    def is_dual(self) -> bool:
        """bool: Whether both streams are fused."""
        return self.with_transformer and self.with_cnn

    @property
    def with_contrast(self) -> bool:
        """bool: Whether the training loss has a contrastive term."""
        return self.loss_contrast is not None

    @property
    def with_cac(self) -> bool:
        """bool: Whether the training loss has the CAC terms."""
        return self.cac_branch is not None

    def extra_repr(self) -> str:
        return (super().extra_repr() + f', fusion={self.fusion!r}, '
                f'top_down={self.top_down}, pool_scales={self.pool_scales}, '
                f'contrast_levels={self.contrast_levels}')

    def _select(self, feats: StreamFeats, expected: Optional[List[int]],
                name: str) -> Optional[List[Tensor]]:
        if expected is None:
            return None
        if feats is None:
            raise ValueError(f'{self.__class__.__name__} expects {name} '
                             'features but the segmentor gave None')
        return [feats[i] for i in self.in_index]

    def project(self, inputs: Tuple[StreamFeats, StreamFeats]
                ) -> Tuple[Optional[List[Tensor]], Optional[List[Tensor]]]:
        """Project each level of each stream to the common width.

        Args:
            inputs (tuple): ``(transformer_feats, cnn_feats)``, each a list of
                multi-level maps (B, C_l, H_l, W_l) or None.

        Returns:
            tuple: ``(transformer_lateral, cnn_lateral)``, each a list of
            ``num_levels`` maps of shape (B, channels, H_l, W_l), or None for
            an absent stream.
        """
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise TypeError(
                f'{self.__class__.__name__} takes (transformer_feats, '
                'cnn_feats) from DualEncoder.extract_feat')
        t_feats = self._select(inputs[0], self.transformer_in_channels,
                               'transformer')
        c_feats = self._select(inputs[1], self.cnn_in_channels, 'CNN')
        t_lat = None if t_feats is None else [
            conv(x) for conv, x in zip(self.transformer_convs, t_feats)
        ]
        c_lat = None if c_feats is None else [
            conv(x) for conv, x in zip(self.cnn_convs, c_feats)
        ]
        return t_lat, c_lat

    def _resize(self, x: Tensor, size) -> Tensor:
        if x.shape[2:] == size:
            return x
        return resize(
            x, size=size, mode=self.interpolate_mode,
            align_corners=self.align_corners)

    def fuse_and_decode(self, t_lat: Optional[List[Tensor]],
                        c_lat: Optional[List[Tensor]]) -> Tensor:
        """Fuse the streams, decode at the finest level and classify.

        Args:
            t_lat (list[Tensor], optional): Transformer laterals from
                :meth:`project`.
            c_lat (list[Tensor], optional): CNN laterals from :meth:`project`.

        Returns:
            Tensor: Segmentation logits, shape (B, out_channels, H/4, W/4)
            for stride-4 finest features.
        """
        return self.decode(self.fused_features(t_lat, c_lat))

    def decode(self, fused: Tensor) -> Tensor:
        """The all-MLP decoder's 1x1 fusion conv, then ``cls_seg``.

        Args:
            fused (Tensor): Output of :meth:`fused_features`.

        Returns:
            Tensor: Segmentation logits, shape (B, out_channels, h, w).
        """
        return self.cls_seg(self.fusion_conv(fused))

    def fused_features(self, t_lat: Optional[List[Tensor]],
                       c_lat: Optional[List[Tensor]]) -> Tensor:
        """Fuse the streams and bring every level to the finest resolution.

        Args:
            t_lat (list[Tensor], optional): Transformer laterals from
                :meth:`project`.
            c_lat (list[Tensor], optional): CNN laterals from :meth:`project`.

        Returns:
            Tensor: The fused levels (after the optional top-down path),
            resized to the finest level and concatenated, shape
            (B, channels * num_levels, H/4, W/4) for stride-4 finest
            features.
        """
        if t_lat is not None and c_lat is not None:
            fused = [
                fusion(t, self._resize(c, t.shape[2:]))
                for fusion, t, c in zip(self.fusions, t_lat, c_lat)
            ]
        else:
            fused = list(t_lat if t_lat is not None else c_lat)
        if self.top_down_convs is not None:
            for i in range(self.num_levels - 2, -1, -1):
                fused[i] = self.top_down_convs[i](
                    fused[i] + self._resize(fused[i + 1], fused[i].shape[2:]))
        size = fused[0].shape[2:]
        return torch.cat([self._resize(x, size) for x in fused], dim=1)

    def forward(self, inputs: Tuple[StreamFeats, StreamFeats]) -> Tensor:
        """Inference path: fusion decoder only, no contrastive module.

        Args:
            inputs (tuple): ``(transformer_feats, cnn_feats)``, each a list of
                multi-level maps (B, C_l, H_l, W_l) or None.

        Returns:
            Tensor: Segmentation logits, shape (B, out_channels, H/4, W/4).
        """
        return self.fuse_and_decode(*self.project(inputs))

    def embed(self, t_lat: List[Tensor],
              c_lat: List[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """L2-normalised embeddings of both streams at ``contrast_levels``.

        Args:
            t_lat (list[Tensor]): Transformer laterals from :meth:`project`.
            c_lat (list[Tensor]): CNN laterals from :meth:`project`.

        Returns:
            tuple[list[Tensor], list[Tensor]]: Per contrast level, maps of
            shape (B, embed_dim, H_l, W_l) for each stream.
        """
        t_embeds = [
            proj(t_lat[level])
            for proj, level in zip(self.transformer_projs,
                                   self.contrast_levels)
        ]
        c_embeds = [
            proj(c_lat[level])
            for proj, level in zip(self.cnn_projs, self.contrast_levels)
        ]
        return t_embeds, c_embeds

    def loss(self, inputs: Tuple[StreamFeats, StreamFeats],
             batch_data_samples: SampleList, train_cfg: ConfigType) -> dict:
        """Forward and compute the losses (decode losses plus contrast).

        Args:
            inputs (tuple): ``(transformer_feats, cnn_feats)``.
            batch_data_samples (list[:obj:`SegDataSample`]): Data samples
                with ``gt_sem_seg``.
            train_cfg (dict): The training config.

        Returns:
            dict[str, Tensor]: ``loss_decode`` terms by ``loss_name`` (e.g.
            ``loss_ce``, ``loss_dice``), ``acc_seg`` and, with a contrastive
            loss, its ``loss_name`` (e.g. ``loss_contrast``); with CAC,
            ``loss_cac`` and ``loss_ce_weight``.
        """
        t_lat, c_lat = self.project(inputs)
        fused = self.fused_features(t_lat, c_lat)
        seg_logits = self.decode(fused)
        losses = self.loss_by_feat(seg_logits, batch_data_samples)
        seg_label = self._stack_batch_gt(batch_data_samples)
        if self.with_contrast:
            t_embeds, c_embeds = self.embed(t_lat, c_lat)
            losses[self.loss_contrast.loss_name] = self.loss_contrast(
                t_embeds, c_embeds, seg_label)
        if self.with_cac:
            losses.update(self.cac_branch.loss(fused, seg_logits, seg_label))
        return losses
