"""PSPNet's pyramid pooling context, reduced to a decoder width."""
from typing import Sequence

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.models.decode_heads.psp_head import PPM
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig


@MODELS.register_module()
class PyramidPoolingBottleneck(BaseModule):
    """Pyramid pooling context (PSPNet) reduced to the decoder width.

    ``[x, PPM(x)] -> 3x3 ConvModule -> channels``: the pyramid pooling module
    of PSPNet (Zhao et al., CVPR 2017) followed by its bottleneck conv, used
    as the lateral projection of the deepest CNN level.

    Args:
        in_channels (int): Channels of the input (deepest CNN level).
        channels (int): Output channels (the decoder's common width).
        pool_scales (Sequence[int]): Output sizes of the adaptive pooling.
        ppm_channels (int): Channels of each pooled branch.
        conv_cfg (dict, optional): Config of conv layers. Defaults to None.
        norm_cfg (dict, optional): Config of norm layers. Defaults to None.
        act_cfg (dict): Config of activations. Defaults to
            ``dict(type='ReLU')``.
        align_corners (bool): ``align_corners`` of the upsampling. Defaults
            to False.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 pool_scales: Sequence[int],
                 ppm_channels: int,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 align_corners: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
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
