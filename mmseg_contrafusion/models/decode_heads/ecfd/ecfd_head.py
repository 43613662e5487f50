"""ECFD: Efficient Cross-Information Fusion Decoder."""
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import ModuleList
from torch import Tensor

from mmseg.registry import MODELS
from ...utils.fusion_block import FUSION_TYPES
from ...utils.resize_utils import resize_to
from ..two_stream_decode_head import TwoStreamDecodeHead
from .context_embedding import ReinforcedContextEmbedding
from .cross_fusion_block import CrossFusionBlock, split_levels
from .gating_decoder import LOW_PROJECTIONS, CrossLevelGatingDecoder
from .weight_init import check_init, pytorch_default_init_


@MODELS.register_module()
class ECFDHead(TwoStreamDecodeHead):
    """ECFD decode head ("Efficient Cross-Information Fusion Decoder").

    The decoder of ECFD (code: songyang-xiaobai/ECFD-main; the paper, cited
    there as the manuscript, was not available to us). Given encoder levels
    C1..C4 (strides 4, 8, 16, 32):

    1. **Spatial tokens** :math:`F_{sp}`: C2, C3, C4 each mapped by a 1x1
       conv to width D, flattened and concatenated (1/8, 1/16, 1/32).
    2. **Reinforced context embedding** (:class:`ReinforcedContextEmbedding`)
       :math:`F_c`: C2..C4 reduced to C1's width, resized to the 1/16 grid,
       concatenated, 1x1 conv to D, plus a learnable position embedding.
    3. ``num_blocks`` **cross fusion blocks** (:class:`CrossFusionBlock`):
       context tokens attend to the multi-level spatial tokens through
       multi-scale deformable attention (mmcv's op; its PyTorch path on
       CPU), then the spatial tokens attend back to the context, followed by
       a depthwise-conv feed-forward network.
    4. **Tail**: the final context map is upsampled by a 2x2 transposed conv
       to 1/8 and gates C1 (projected to ``channels`` by a 1x1 conv) in a
       cross-level gating decoder (:class:`CrossLevelGatingDecoder`, DRANet:
       Fu et al., TNNLS 2021) giving C1'; the spatial tokens become maps
       C2', C3', C4' (optionally plus the context map of block *l* for level
       *l*, ``add_context``), each 1x1 conv (with bias) + norm to
       ``channels``; an FPN in the FastFCN style (3x3 conv on C4', top-down
       path with 1x1 lateral convs, a 3x3 conv per level, all upsampled to
       1/4 with ``align_corners=True``, concatenated, 3x3 conv to
       ``channels``) and the classifier.

    **Original layout by default.** With the defaults (``c1_projection=
    'conv'``, ``fpn_align_corners=True``, ``spatial_out_bias=True``,
    ``init='pytorch'``) the head computes what the original ``ECFD`` head
    computes with the same weights, and initialises as it does: PyTorch's
    default init for every conv and linear, Deformable DETR's for the
    attentions, normal (std 0.01) for the classifier. Each option names a
    variant of one part of the tail; ``configs/ecfd/README.md`` lists the
    remaining differences.

    ECFD-tiny: ``embed_dims=192``; ECFD-small: ``embed_dims=384``; both
    ``num_blocks=3``, 6 heads, 4 points, ``ffn_ratio=0.5``, layer scale 0,
    ``add_context=False`` (the setting of the released training logs). The
    auxiliary FCN head of the original is an ordinary mmseg ``FCNHead`` on
    C3 in the configs.

    **Under a DualEncoder** (``transformer_in_channels`` and/or
    ``cnn_in_channels`` set instead of ``in_channels``): the shared
    front-end :class:`TwoStreamFusion` projects each stream's level *l*
    (1x1 ConvModule) to ``fusion_channels[l]`` and fuses the two
    (:class:`FusionBlock`: gated, sum or concat); the four fused levels are
    then C1..C4 above. With ``loss_contrast`` a
    :class:`CrossEncoderContrastBranch` aligns the two streams' pre-fusion
    laterals in training, as in ContraFusionNet.

    Args:
        in_channels (Sequence[int], optional): Widths of the four selected
            levels of one ordinary backbone (``EncoderDecoder``), e.g.
            ``[256, 512, 1024, 2048]`` for ResNet-50. None under a
            :class:`DualEncoder`. Defaults to None.
        channels (int): Width of the tail (CLGD, FPN). Defaults to 256.
        embed_dims (int): Token width D. Defaults to 192 (ECFD-tiny).
        num_blocks (int): Cross fusion blocks L. Defaults to 3.
        num_heads (int): Heads of the deformable attentions. Defaults to 6.
        num_points (int): Sampling points per head and level. Defaults to 4.
        ffn_ratio (float): ConvFFN hidden width relative to D. Defaults to
            0.5.
        init_values (float): Initial layer scale of the context update.
            Defaults to 0.
        pos_shape (tuple[int, int], optional): Grid of the learnable
            position embedding; the 1/16 grid of the training crop, e.g.
            ``(32, 64)`` for 512x1024. None for none. Defaults to
            ``(32, 64)``.
        add_context (bool): Add the context map of block *l* to spatial
            level *l* before the tail (needs ``num_blocks`` = 3). Defaults to
            False.
        gate_channels (int): Width of the gated C1 in the CLGD. Defaults to
            32.
        c1_projection (str): Projection of C1 (B, C1, H/4, W/4) to
            ``channels`` before the CLGD: ``'conv'``, a 1x1 conv with bias
            (the original), or ``'conv_bn_relu'``, a 1x1 conv-norm-ReLU.
            Defaults to ``'conv'``.
        fpn_align_corners (bool): ``align_corners`` of the FPN's bilinear
            resizes (top-down path and the resizes to 1/4). The original
            uses True there, and the head's ``align_corners`` elsewhere
            (context embedding, CLGD, ``add_context``, loss). Defaults to
            True.
        spatial_out_bias (bool): Bias of the 1x1 convs that map C2', C3',
            C4' (B, D, h_l, w_l) to ``channels`` before their norm. The
            original has one (redundant before batch norm, but a parameter
            of its checkpoints). Defaults to True.
        init (str): ``'pytorch'``: the convs and linears that the original
            leaves at PyTorch's default init are (re-)drawn from it, also
            in :meth:`init_weights` (mmcv's ``ConvModule`` would apply
            Kaiming init); ``'kaiming'``: mmcv ``ConvModule``'s Kaiming init
            (fan-out, zero biases) and truncated-normal (std 0.02) ConvFFN
            linears. The two-encoder projections and fusions and the
            classifier are initialised as before either way. Defaults to
            ``'pytorch'``.
        transformer_in_channels (Sequence[int], optional): Widths of the
            transformer levels under a DualEncoder. Defaults to None.
        cnn_in_channels (Sequence[int], optional): Widths of the CNN levels
            under a DualEncoder. Defaults to None.
        fusion (str): Stream fusion under a DualEncoder. Defaults to
            ``'gated'``.
        fusion_channels (int | Sequence[int], optional): Width of each fused
            level (one int for all); None means the first stream's widths.
            Defaults to None.
        loss_contrast (dict, optional): Cross-encoder contrast of the
            pre-fusion laterals (two streams only); with it,
            ``contrast_levels``, ``embed_dim`` (the contrastive embeddings,
            not the tokens' ``embed_dims``) and ``proj_channels`` as in
            :class:`TwoStreamDecodeHead`. Defaults to None.
        in_index (Sequence[int]): Selected levels. Defaults to
            ``(0, 1, 2, 3)``.
        **kwargs: Other :class:`BaseDecodeHead` arguments (``num_classes``,
            ``norm_cfg``, ``dropout_ratio``, ``loss_decode``, ...).
    """

    def __init__(self,
                 in_channels: Optional[Sequence[int]] = None,
                 channels: int = 256,
                 embed_dims: int = 192,
                 num_blocks: int = 3,
                 num_heads: int = 6,
                 num_points: int = 4,
                 ffn_ratio: float = 0.5,
                 init_values: float = 0.,
                 pos_shape: Optional[Tuple[int, int]] = (32, 64),
                 add_context: bool = False,
                 gate_channels: int = 32,
                 c1_projection: str = 'conv',
                 fpn_align_corners: bool = True,
                 spatial_out_bias: bool = True,
                 init: str = 'pytorch',
                 transformer_in_channels: Optional[Sequence[int]] = None,
                 cnn_in_channels: Optional[Sequence[int]] = None,
                 fusion: str = 'gated',
                 fusion_channels: Optional[Union[int, Sequence[int]]] = None,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 **kwargs) -> None:
        widths = [
            w for w in (in_channels, transformer_in_channels, cnn_in_channels)
            if w is not None
        ]
        if len(in_index) != 4 or any(len(w) != 4 for w in widths):
            raise ValueError(
                'ECFDHead takes four levels (strides 4, 8, 16, 32); got '
                f'in_channels={in_channels}, transformer_in_channels='
                f'{transformer_in_channels}, cnn_in_channels='
                f'{cnn_in_channels}, in_index={list(in_index)}')
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        if add_context and num_blocks != 3:
            raise ValueError('add_context adds the context of block l to '
                             'spatial level l: it needs num_blocks=3, got '
                             f'{num_blocks}')
        if fusion not in FUSION_TYPES:
            raise ValueError(f'fusion must be one of {FUSION_TYPES}, '
                             f'got {fusion!r}')
        if c1_projection not in LOW_PROJECTIONS:
            raise ValueError(f'c1_projection must be one of '
                             f'{LOW_PROJECTIONS}, got {c1_projection!r}')
        check_init(init)
        if fusion_channels is None and widths:
            fusion_channels = list(widths[0])
        super().__init__(
            transformer_in_channels,
            cnn_in_channels,
            channels=channels,
            fusion=fusion,
            fusion_channels=fusion_channels,
            in_channels=in_channels,
            in_index=in_index,
            **kwargs)
        self.embed_dims = embed_dims
        self.num_blocks = num_blocks
        self.add_context = add_context
        self.c1_projection = c1_projection
        self.fpn_align_corners = fpn_align_corners
        self.spatial_out_bias = spatial_out_bias
        self.init = init
        conv_kwargs = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        level_channels = (
            list(in_channels)
            if self.front_end is None else self.front_end.channels)
        self.level_channels = level_channels

        # 1. Spatial tokens, 2. context tokens.
        self.spatial_embeds = ModuleList(
            ConvModule(c, embed_dims, 1, conv_cfg=self.conv_cfg, act_cfg=None)
            for c in level_channels[1:])
        self.context_embed = ReinforcedContextEmbedding(
            level_channels,
            embed_dims,
            pos_shape=pos_shape,
            conv_cfg=self.conv_cfg,
            align_corners=self.align_corners,
            init=init)
        # 3. Cross fusion blocks.
        self.blocks = ModuleList(
            CrossFusionBlock(
                embed_dims,
                num_heads=num_heads,
                num_points=num_points,
                num_spatial_levels=3,
                ffn_ratio=ffn_ratio,
                init_values=init_values,
                ffn_init='pytorch' if init == 'pytorch' else 'trunc_normal')
            for _ in range(num_blocks))
        # 4. Tail: context map -> 1/8, CLGD with C1, spatial maps -> FPN.
        self.context_up = nn.ConvTranspose2d(
            embed_dims, channels, kernel_size=2, stride=2)
        self.gating = CrossLevelGatingDecoder(
            level_channels[0],
            channels,
            gate_channels=gate_channels,
            align_corners=self.align_corners,
            low_projection=c1_projection,
            init=init,
            **conv_kwargs)
        with warnings.catch_warnings():
            # mmcv warns about a conv bias before batch norm: the original
            # has it (spatial_out_bias).
            warnings.filterwarnings('ignore', 'Unnecessary conv bias')
            self.spatial_outs = ModuleList(
                ConvModule(
                    embed_dims,
                    channels,
                    1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=None,
                    bias=spatial_out_bias) for _ in range(3))
        self.top_conv = ConvModule(
            channels, channels, 3, padding=1, **conv_kwargs)
        self.laterals = ModuleList(
            ConvModule(channels, channels, 1, **conv_kwargs) for _ in range(3))
        self.fpn_convs = ModuleList(
            ConvModule(channels, channels, 3, padding=1, **conv_kwargs)
            for _ in range(3))
        self.fpn_bottleneck = ConvModule(
            4 * channels, channels, 3, padding=1, **conv_kwargs)
        if init == 'pytorch':
            self._pytorch_init()

    def _pytorch_init(self) -> None:
        """PyTorch's default init of the head's own original-layout convs.

        The context embedding, the CLGD and the blocks handle their own.
        ``context_up`` and the CLGD's attention conv are plain convs (never
        re-initialised); the classifier keeps its normal init.
        """
        for module in (self.spatial_embeds, self.spatial_outs, self.top_conv,
                       self.laterals, self.fpn_convs, self.fpn_bottleneck):
            pytorch_default_init_(module)

    def init_weights(self) -> None:
        """Initialise the head.

        mmseg's init (normal, std 0.01, for ``conv_seg``), then every child's
        own ``init_weights`` (ConvModule: Kaiming; deformable attention:
        Deformable DETR; ConvFFN, CLGD, context embedding, FusionBlock: as
        they say); with ``init='pytorch'`` the head's own convs are then
        re-drawn from PyTorch's default init, as in the original.
        """
        was_init = self.is_init
        super().init_weights()
        if self.init == 'pytorch' and not was_init:
            self._pytorch_init()

    def extra_repr(self) -> str:
        return (super().extra_repr() + f', embed_dims={self.embed_dims}, '
                f'num_blocks={self.num_blocks}, add_context='
                f'{self.add_context}, c1_projection={self.c1_projection!r}, '
                f'fpn_align_corners={self.fpn_align_corners}, '
                f'spatial_out_bias={self.spatial_out_bias}, '
                f'init={self.init!r}, streams={self.streams}')

    def _resize(self,
                x: Tensor,
                size,
                align_corners: Optional[bool] = None) -> Tensor:
        """Bilinear resize (identity at the same size for either
        ``align_corners``); ``align_corners`` None means the head's."""
        if align_corners is None:
            align_corners = self.align_corners
        return resize_to(x, size, 'bilinear', align_corners)

    def decode(self, fused: List[Tensor]) -> Tensor:
        """Decode C1..C4.

        Args:
            fused (list[Tensor]): C1..C4, (B, C_l, H_l, W_l) at strides 4,
                8, 16, 32: the selected levels of the backbone, or the fused
                levels of the two streams (:meth:`fuse`).

        Returns:
            Tensor: Segmentation logits, shape (B, out_channels, H/4, W/4).
        """
        c1, c2, c3, c4 = fused
        spatial_maps = [
            embed(x) for embed, x in zip(self.spatial_embeds, (c2, c3, c4))
        ]
        spatial_shapes = [tuple(m.shape[2:]) for m in spatial_maps]
        spatial = torch.cat([m.flatten(2) for m in spatial_maps],
                            dim=2).transpose(1, 2)
        context, context_shape = self.context_embed((c1, c2, c3, c4))

        contexts = []
        for block in self.blocks:
            context, spatial = block(context, spatial, context_shape,
                                     spatial_shapes)
            contexts.append(context)

        batch = context.shape[0]
        context_map = context.transpose(1, 2).reshape(batch, -1,
                                                      *context_shape)
        c1 = self.gating(c1, self.context_up(context_map))

        spatial_maps = split_levels(spatial, spatial_shapes)
        if self.add_context:
            spatial_maps = [
                m + self._resize(
                    ctx.transpose(1, 2).reshape(batch, -1, *context_shape),
                    m.shape[2:]) for m, ctx in zip(spatial_maps, contexts)
            ]
        levels = [c1] + [
            conv(m) for conv, m in zip(self.spatial_outs, spatial_maps)
        ]

        size = c1.shape[2:]
        fpn_ac = self.fpn_align_corners
        top = self.top_conv(levels[3])
        outs = [self._resize(top, size, fpn_ac)]
        for i in range(2, -1, -1):
            lateral = self.laterals[i](levels[i])
            top = lateral + self._resize(top, lateral.shape[2:], fpn_ac)
            outs.append(self._resize(self.fpn_convs[i](top), size, fpn_ac))
        return self.cls_seg(self.fpn_bottleneck(torch.cat(outs, dim=1)))
