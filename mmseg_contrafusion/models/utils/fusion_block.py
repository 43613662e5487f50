"""Fusion of two same-shape feature maps (one per encoder stream)."""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig

FUSION_TYPES = ('gated', 'sum', 'concat')


@MODELS.register_module()
class FusionBlock(BaseModule):
    """Fuse a transformer feature map and a CNN feature map of equal shape.

    - ``'sum'``: ``t + c`` (no parameters).
    - ``'concat'``: ``ConvModule1x1([t, c])``, 2C -> C with norm and
      activation.
    - ``'gated'``: ``g * t + (1 - g) * c`` with a per-pixel, per-channel gate
      ``g = sigmoid(Conv1x1([t, c]))``. The gate starts at 0.5 everywhere
      (zero weights and bias), i.e. as the mean of the two streams.

    Args:
        channels (int): Channels C of each input and of the output.
        fusion (str): ``'gated'``, ``'sum'`` or ``'concat'``. Defaults to
            ``'gated'``.
        conv_cfg (dict, optional): Config of conv layers. Defaults to None.
        norm_cfg (dict, optional): Config of the norm layer of ``'concat'``.
            Defaults to None.
        act_cfg (dict): Config of the activation of ``'concat'``. Defaults to
            ``dict(type='ReLU')``.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to None.
    """

    def __init__(self,
                 channels: int,
                 fusion: str = 'gated',
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if fusion not in FUSION_TYPES:
            raise ValueError(f'fusion must be one of {FUSION_TYPES}, '
                             f'got {fusion!r}')
        self.channels = channels
        self.fusion = fusion
        if fusion == 'concat':
            self.conv = ConvModule(
                2 * channels,
                channels,
                kernel_size=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)
        elif fusion == 'gated':
            self.gate = nn.Conv2d(2 * channels, channels, kernel_size=1)

    def init_weights(self) -> None:
        """Start the gate at 0.5 (the mean of both streams)."""
        super().init_weights()
        if self.fusion == 'gated':
            nn.init.zeros_(self.gate.weight)
            nn.init.zeros_(self.gate.bias)

    def extra_repr(self) -> str:
        return f'fusion={self.fusion!r}'

    def forward(self, t: Tensor, c: Tensor) -> Tensor:
        """Fuse two streams.

        Args:
            t (Tensor): Transformer features, shape (B, C, H, W).
            c (Tensor): CNN features, shape (B, C, H, W).

        Returns:
            Tensor: Fused features, shape (B, C, H, W).
        """
        if self.fusion == 'sum':
            return t + c
        if self.fusion == 'concat':
            return self.conv(torch.cat([t, c], dim=1))
        gate = torch.sigmoid(self.gate(torch.cat([t, c], dim=1)))
        return c + gate * (t - c)
