"""Cross-level gating decoder (CLGD) used by ECFD."""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.models.utils import resize
from mmseg.utils import ConfigType, OptConfigType
from .weight_init import check_init, pytorch_default_init_

LOW_PROJECTIONS = ('conv', 'conv_bn_relu')


class CrossLevelGatingDecoder(BaseModule):
    """Gate a low-level map by a high-level one, then fuse them.

    The cross-level gating decoder of DRANet (Fu et al., "Scene Segmentation
    With Dual Relation-Aware Attention Network", TNNLS 2021), as ECFD uses
    it to bring the stride-4 level C1 into the decoder:

    .. code:: text

        low  = Conv3x3-BN-ReLU(P(C1))                     -> gate_channels
        high = resize(high-level map to the size of C1)   -> channels
        a    = sigmoid(Conv1x1([low, high]))               (one map)
        out  = Conv3x3-BN-ReLU(Conv3x3-BN-ReLU([gamma * a * low, high]))

    ``gamma`` is a learnable scalar initialised to 1. ``P`` projects C1 to
    ``channels``: a 1x1 conv with bias (``low_projection='conv'``, ECFD's
    ``c1_conv1x1``) or a 1x1 conv-BN-ReLU (``'conv_bn_relu'``).

    Args:
        low_channels (int): Channels of the low-level map (C1).
        channels (int): Channels of the high-level map and of the output.
        gate_channels (int): Width of the gated low-level features. Defaults
            to 32.
        low_projection (str): ``P``: ``'conv'`` (the original ECFD) or
            ``'conv_bn_relu'``. Defaults to ``'conv'``.
        conv_cfg (dict, optional): Config of the conv layers. Defaults to
            None.
        norm_cfg (dict, optional): Config of the norm layers. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Config of the activations. Defaults to
            ``dict(type='ReLU')``.
        align_corners (bool): ``align_corners`` of the resize. Defaults to
            False.
        init (str): ``'pytorch'``: the convs keep PyTorch's default init,
            as in the original; ``'kaiming'``: mmcv ``ConvModule``'s Kaiming
            init with zero biases. Defaults to ``'pytorch'``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 low_channels: int,
                 channels: int,
                 gate_channels: int = 32,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 align_corners: bool = False,
                 low_projection: str = 'conv',
                 init: str = 'pytorch',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if low_projection not in LOW_PROJECTIONS:
            raise ValueError(f'low_projection must be one of '
                             f'{LOW_PROJECTIONS}, got {low_projection!r}')
        kwargs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.align_corners = align_corners
        self.low_projection = low_projection
        self.init = check_init(init)
        if low_projection == 'conv':
            self.low_proj = ConvModule(
                low_channels,
                channels,
                1,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=None)
        else:
            self.low_proj = ConvModule(low_channels, channels, 1, **kwargs)
        self.low_conv = ConvModule(
            channels, gate_channels, 3, padding=1, **kwargs)
        self.attention = nn.Conv2d(gate_channels + channels, 1, 1)
        self.gamma = nn.Parameter(torch.ones(1))
        self.fuse = ConvModule(
            gate_channels + channels, channels, 3, padding=1, **kwargs)
        self.out_conv = ConvModule(channels, channels, 3, padding=1, **kwargs)
        if self.init == 'pytorch':
            pytorch_default_init_(self)

    def init_weights(self) -> None:
        """Initialise as ``init`` says (after the children's own init)."""
        was_init = self.is_init
        super().init_weights()
        if self.init == 'pytorch' and not was_init:
            pytorch_default_init_(self)

    def extra_repr(self) -> str:
        return (f'low_projection={self.low_projection!r}, '
                f'init={self.init!r}')

    def forward(self, low: Tensor, high: Tensor) -> Tensor:
        """Fuse a low-level and a high-level map.

        Args:
            low (Tensor): Low-level map (C1), shape (B, low_channels, H, W).
            high (Tensor): High-level map, shape (B, channels, h, w).

        Returns:
            Tensor: Fused map, shape (B, channels, H, W).
        """
        low = self.low_conv(self.low_proj(low))
        if high.shape[2:] != low.shape[2:]:
            high = resize(
                high,
                size=low.shape[2:],
                mode='bilinear',
                align_corners=self.align_corners)
        gate = torch.sigmoid(self.attention(torch.cat([low, high], dim=1)))
        low = self.gamma * gate * low
        return self.out_conv(self.fuse(torch.cat([low, high], dim=1)))
