"""The fusion front-end shared by every head that reads both streams."""
from typing import List, NamedTuple, Optional, Sequence, Union

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from ..segmentors.dual_feats import DualFeats
from .fusion_block import FUSION_TYPES, FusionBlock
from .pyramid_pooling_bottleneck import PyramidPoolingBottleneck
from .resize_utils import resize_to


class FusedFeats(NamedTuple):
    """What :class:`TwoStreamFusion` gives a head.

    Args:
        laterals (DualFeats): Per stream, the ``num_levels`` projected maps
            (B, C_l, H_l, W_l) at that stream's own resolution, before
            fusion (what a contrastive term aligns); None for an absent
            stream.
        fused (list[Tensor]): The ``num_levels`` fused maps (B, C_l, H_l,
            W_l) at the transformer's resolution (the CNN's without a
            transformer): what the decoder reads. With one stream, its
            laterals.
    """

    laterals: DualFeats
    fused: List[Tensor]


@MODELS.register_module()
class TwoStreamFusion(BaseModule):
    """Per-level lateral projection and fusion of two encoder streams.

    1. Each level of each present stream is projected to the level's width
       ``channels[l]`` (1x1 ConvModule; with ``pool_scales`` the deepest CNN
       level goes through a :class:`PyramidPoolingBottleneck`, PSPNet, Zhao
       et al. 2017).
    2. The CNN laterals are resized to the transformer's (the strides of the
       two encoders may differ by rounding) and each level is fused by a
       :class:`FusionBlock` (``'gated'``, ``'sum'`` or ``'concat'``).

    A single stream (the other None) is projected only.

    Args:
        transformer_in_channels (Sequence[int], optional): Widths of the
            transformer levels; None without a transformer stream.
        cnn_in_channels (Sequence[int], optional): Widths of the CNN levels;
            None without a CNN stream.
        channels (int | Sequence[int]): Width of each lateral and fused
            level, one int for all.
        fusion (str): ``'gated'``, ``'sum'`` or ``'concat'``. Defaults to
            ``'gated'``.
        pool_scales (Sequence[int], optional): Pyramid pooling on the deepest
            CNN level; None for a plain 1x1 projection. Defaults to None.
        ppm_channels (int, optional): Channels of each pooled branch; None
            means the deepest level's ``channels``. Defaults to None.
        conv_cfg (dict, optional): Config of conv layers. Defaults to None.
        norm_cfg (dict, optional): Config of norm layers. Defaults to None.
        act_cfg (dict): Config of activations. Defaults to
            ``dict(type='ReLU')``.
        align_corners (bool): ``align_corners`` of the resizes. Defaults to
            False.
        interpolate_mode (str): Mode of the resizes. Defaults to
            ``'bilinear'``.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to None.
    """

    def __init__(self,
                 transformer_in_channels: Optional[Sequence[int]],
                 cnn_in_channels: Optional[Sequence[int]],
                 channels: Union[int, Sequence[int]],
                 fusion: str = 'gated',
                 pool_scales: Optional[Sequence[int]] = None,
                 ppm_channels: Optional[int] = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 align_corners: bool = False,
                 interpolate_mode: str = 'bilinear',
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        widths = [
            w for w in (transformer_in_channels, cnn_in_channels)
            if w is not None
        ]
        if not widths:
            raise ValueError('TwoStreamFusion needs at least one stream: set '
                             'transformer_in_channels and/or cnn_in_channels')
        num_levels = len(widths[0])
        if any(len(w) != num_levels for w in widths):
            raise ValueError(
                'both streams must have the same number of levels, got '
                f'transformer_in_channels={transformer_in_channels} and '
                f'cnn_in_channels={cnn_in_channels}')
        if isinstance(channels, int):
            channels = [channels] * num_levels
        if len(channels) != num_levels:
            raise ValueError(f'channels {list(channels)} must list one width '
                             f'per level ({num_levels})')
        if fusion not in FUSION_TYPES:
            raise ValueError(f'fusion must be one of {FUSION_TYPES}, '
                             f'got {fusion!r}')
        if pool_scales is not None and cnn_in_channels is None:
            raise ValueError('pool_scales (the PSP context) needs a CNN '
                             'stream')
        self.transformer_in_channels = (None if transformer_in_channels is None
                                        else list(transformer_in_channels))
        self.cnn_in_channels = (None if cnn_in_channels is None else
                                list(cnn_in_channels))
        self.channels = list(channels)
        self.num_levels = num_levels
        self.fusion = fusion
        self.align_corners = align_corners
        self.interpolate_mode = interpolate_mode
        conv_kwargs = dict(
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        # mmengine ModuleLists: model.init_weights() reaches the children's
        # own init_weights (e.g. FusionBlock's gate at 0.5).
        self.transformer_convs = None
        if self.transformer_in_channels is not None:
            self.transformer_convs = ModuleList(
                ConvModule(c, f, 1, **conv_kwargs)
                for c, f in zip(self.transformer_in_channels, self.channels))
        self.cnn_convs = None
        if self.cnn_in_channels is not None:
            convs = [
                ConvModule(c, f, 1, **conv_kwargs)
                for c, f in zip(self.cnn_in_channels[:-1], self.channels)
            ]
            if pool_scales is not None:
                convs.append(
                    PyramidPoolingBottleneck(
                        self.cnn_in_channels[-1],
                        self.channels[-1],
                        pool_scales,
                        ppm_channels or self.channels[-1],
                        align_corners=align_corners,
                        **conv_kwargs))
            else:
                convs.append(
                    ConvModule(self.cnn_in_channels[-1], self.channels[-1], 1,
                               **conv_kwargs))
            self.cnn_convs = ModuleList(convs)
        self.fusions = None
        if self.is_dual:
            self.fusions = ModuleList(
                FusionBlock(f, fusion, **conv_kwargs) for f in self.channels)

    @property
    def is_dual(self) -> bool:
        """bool: Whether both streams are fused."""
        return (self.transformer_in_channels is not None
                and self.cnn_in_channels is not None)

    def extra_repr(self) -> str:
        return f'fusion={self.fusion!r}, channels={self.channels}'

    def resize(self, x: Tensor, size: Sequence[int]) -> Tensor:
        """Resize ``x`` (B, C, h, w) to ``size`` (identity if equal)."""
        return resize_to(x, size, self.interpolate_mode, self.align_corners)

    def forward(self, feats: DualFeats) -> FusedFeats:
        """Project, resize and fuse the selected levels of both streams.

        Args:
            feats (DualFeats): ``num_levels`` maps (B, C_l, H_l, W_l) per
                present stream, finest first.

        Returns:
            FusedFeats: The pre-fusion laterals and the fused levels.
        """
        t_lat = c_lat = None
        if self.transformer_convs is not None:
            t_lat = [
                c(x) for c, x in zip(self.transformer_convs, feats.transformer)
            ]
        if self.cnn_convs is not None:
            c_lat = [c(x) for c, x in zip(self.cnn_convs, feats.cnn)]
        if t_lat is not None and c_lat is not None:
            fused = [
                fusion(t, self.resize(c, t.shape[2:]))
                for fusion, t, c in zip(self.fusions, t_lat, c_lat)
            ]
        else:
            fused = list(t_lat if t_lat is not None else c_lat)
        return FusedFeats(DualFeats(t_lat, c_lat), fused)
