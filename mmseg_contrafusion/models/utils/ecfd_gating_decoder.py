"""Cross-level gating decoder (CLGD) used by ECFD."""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.models.utils import resize
from mmseg.utils import ConfigType, OptConfigType


class CrossLevelGatingDecoder(BaseModule):
    """Gate a low-level map by a high-level one, then fuse them.

    The cross-level gating decoder of DRANet (Fu et al., "Scene Segmentation
    With Dual Relation-Aware Attention Network", TNNLS 2021), as ECFD uses
    it to bring the stride-4 level C1 into the decoder:

    .. code:: text

        low  = Conv3x3-BN-ReLU(Conv1x1-BN-ReLU(C1))      -> gate_channels
        high = resize(high-level map to the size of C1)   -> channels
        a    = sigmoid(Conv1x1([low, high]))               (one map)
        out  = Conv3x3-BN-ReLU(Conv3x3-BN-ReLU([gamma * a * low, high]))

    ``gamma`` is a learnable scalar initialised to 1.

    Args:
        low_channels (int): Channels of the low-level map (C1).
        channels (int): Channels of the high-level map and of the output.
        gate_channels (int): Width of the gated low-level features. Defaults
            to 32.
        conv_cfg (dict, optional): Config of the conv layers. Defaults to
            None.
        norm_cfg (dict, optional): Config of the norm layers. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Config of the activations. Defaults to
            ``dict(type='ReLU')``.
        align_corners (bool): ``align_corners`` of the resize. Defaults to
            False.
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
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        kwargs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.align_corners = align_corners
        self.low_proj = ConvModule(low_channels, channels, 1, **kwargs)
        self.low_conv = ConvModule(
            channels, gate_channels, 3, padding=1, **kwargs)
        self.attention = nn.Conv2d(gate_channels + channels, 1, 1)
        self.gamma = nn.Parameter(torch.ones(1))
        self.fuse = ConvModule(
            gate_channels + channels, channels, 3, padding=1, **kwargs)
        self.out_conv = ConvModule(channels, channels, 3, padding=1, **kwargs)

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
                high, size=low.shape[2:], mode='bilinear',
                align_corners=self.align_corners)
        gate = torch.sigmoid(self.attention(torch.cat([low, high], dim=1)))
        low = self.gamma * gate * low
        return self.out_conv(self.fuse(torch.cat([low, high], dim=1)))
