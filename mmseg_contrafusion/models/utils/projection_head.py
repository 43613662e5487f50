"""Projection head mapping a feature map to L2-normalised pixel embeddings."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig


@MODELS.register_module()
class ProjectionHead(BaseModule):
    """Two-layer 1x1-conv projection to a unit-norm embedding per pixel.

    ``1x1 conv -> norm -> activation -> 1x1 conv -> L2 normalisation`` over
    channels, the projector of SimCLR-style contrastive learning as used for
    pixels by ContrastiveSeg (Wang et al., ICCV 2021) and SupCon (Khosla et
    al., NeurIPS 2020). It is a training-only module: the decode heads of
    this package call it only when computing a contrastive loss.

    Args:
        in_channels (int): Channels of the input feature map.
        embed_dim (int): Channels of the output embedding. Defaults to 128.
        hidden_channels (int, optional): Channels of the hidden layer. None
            means ``in_channels``. Defaults to None.
        conv_cfg (dict, optional): Config of the conv layers. Defaults to
            None.
        norm_cfg (dict, optional): Config of the hidden norm layer. Defaults
            to ``dict(type='BN')``.
        act_cfg (dict): Config of the hidden activation. Defaults to
            ``dict(type='ReLU')``.
        normalize (bool): L2-normalise the output over channels. Defaults to
            True.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dim: int = 128,
                 hidden_channels: Optional[int] = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 normalize: bool = True,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        hidden_channels = hidden_channels or in_channels
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        self.normalize = normalize
        self.hidden = ConvModule(
            in_channels,
            hidden_channels,
            kernel_size=1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.out = nn.Conv2d(hidden_channels, embed_dim, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        """Embed every pixel.

        Args:
            x (Tensor): Feature map, shape (B, C_in, H, W).

        Returns:
            Tensor: Embeddings, shape (B, embed_dim, H, W), unit L2 norm over
            the channel axis when ``normalize`` is True.
        """
        x = self.out(self.hidden(x))
        if self.normalize:
            x = F.normalize(x, p=2, dim=1)
        return x
