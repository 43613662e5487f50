"""Reinforced context embedding (RCE) of ECFD."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from mmseg.models.utils import resize
from mmseg.utils import OptConfigType
from .weight_init import (check_init, conv_transpose_default_init_,
                          pytorch_default_init_)


class ReinforcedContextEmbedding(BaseModule):
    """Early fusion of the encoder levels into one grid of context tokens.

    The RCE of ECFD (see :class:`ECFDHead`): levels C2, C3 and C4 (strides
    8, 16, 32) are each reduced by a 1x1 conv to the width of C1, resized to
    the C3 (1/16) grid, concatenated and mapped by a 1x1 conv to the token
    width D. A learnable absolute position embedding (zero-initialised) is
    added; it is stored on a ``pos_shape`` grid and resized bicubically when
    the 1/16 grid differs (e.g. whole-image inference on larger images).
    Size it to the training crop's 1/16 grid: the original stores it at
    crop/4 (128x256 for 512x1024 crops, 6.3M parameters at D=192), sixteen
    times the cells it is ever used at during training.

    The original reduces C4 with a 1x1 ``ConvTranspose2d``; here it is a
    1x1 conv (the same map; the original's weight, of shape (C4, C1, 1, 1),
    is this conv's weight transposed in its first two axes). With
    ``init='pytorch'`` it gets the transposed conv's default init.

    Args:
        in_channels (Sequence[int]): Widths of C1..C4.
        embed_dims (int): Token width D.
        pos_shape (tuple[int, int], optional): ``(h, w)`` of the stored
            position-embedding grid; None for no position embedding.
            Defaults to None.
        conv_cfg (dict, optional): Config of the conv layers. Defaults to
            None.
        align_corners (bool): ``align_corners`` of the bilinear resizes of
            the levels and of the bicubic resize of the position embedding
            (as the original). Defaults to False.
        init (str): ``'pytorch'``: the convs keep PyTorch's default init,
            as in the original; ``'kaiming'``: mmcv ``ConvModule``'s Kaiming
            init with zero biases. Defaults to ``'pytorch'``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 embed_dims: int,
                 pos_shape: Optional[Tuple[int, int]] = None,
                 conv_cfg: OptConfigType = None,
                 align_corners: bool = False,
                 init: str = 'pytorch',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 4:
            raise ValueError('ReinforcedContextEmbedding takes 4 levels '
                             f'(C1..C4), got {len(in_channels)}')
        reduced = in_channels[0]
        self.align_corners = align_corners
        self.init = check_init(init)
        self.reduce = ModuleList(
            ConvModule(c, reduced, 1, conv_cfg=conv_cfg, act_cfg=None)
            for c in in_channels[1:])
        self.embed = ConvModule(
            3 * reduced, embed_dims, 1, conv_cfg=conv_cfg, act_cfg=None)
        self.pos_shape = None if pos_shape is None else tuple(pos_shape)
        self.pos_embed = None
        if pos_shape is not None:
            self.pos_embed = nn.Parameter(
                torch.zeros(1, embed_dims, *self.pos_shape))
        if self.init == 'pytorch':
            self._pytorch_init()

    def _pytorch_init(self) -> None:
        """PyTorch's default init of the original's layers (C4's is that of
        a 1x1 ``ConvTranspose2d``)."""
        pytorch_default_init_(self)
        conv_transpose_default_init_(self.reduce[2].conv)

    def init_weights(self) -> None:
        """Initialise as ``init`` says (after the children's own init)."""
        was_init = self.is_init
        super().init_weights()
        if self.init == 'pytorch' and not was_init:
            self._pytorch_init()

    def extra_repr(self) -> str:
        return f'pos_shape={self.pos_shape}, init={self.init!r}'

    def forward(self,
                feats: Sequence[Tensor]) -> Tuple[Tensor, Tuple[int, int]]:
        """Build the context tokens.

        Args:
            feats (Sequence[Tensor]): C1..C4, each (B, C_l, H_l, W_l).

        Returns:
            tuple: The tokens, shape (B, h*w, D), and ``(h, w)``, the C3
            (1/16) grid they lie on.
        """
        size = feats[2].shape[2:]
        reduced = [
            resize(
                conv(x),
                size=size,
                mode='bilinear',
                align_corners=self.align_corners)
            if x.shape[2:] != size else conv(x)
            for conv, x in zip(self.reduce, feats[1:])
        ]
        x = self.embed(torch.cat(reduced, dim=1))
        if self.pos_embed is not None:
            pos = self.pos_embed
            if pos.shape[2:] != x.shape[2:]:
                pos = F.interpolate(
                    pos,
                    size=x.shape[2:],
                    mode='bicubic',
                    align_corners=self.align_corners)
            x = x + pos
        return x.flatten(2).transpose(1, 2), (int(size[0]), int(size[1]))
