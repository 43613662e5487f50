"""Projection head mapping a feature map to L2-normalised pixel embeddings."""
import contextlib
from typing import Iterator, Optional

import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

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
        residual (bool): Add the hidden features to the output layer's,
            ``z = h + Conv1x1(h)`` (the CAC reference code's projection
            head), instead of ``z = Conv1x1(h)``. Both give the same set of
            maps; they differ at initialisation and under weight decay (the
            residual form decays towards ``z = h``). Needs
            ``hidden_channels == embed_dim``. Defaults to False.
        with_cp (bool): In training, keep no activation of the head for the
            backward pass and compute them again there (gradient
            checkpointing): less peak memory for a second forward of the
            head. The norm layers' running statistics are updated once per
            step, as without it. Defaults to False.
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
                 residual: bool = False,
                 with_cp: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        hidden_channels = hidden_channels or in_channels
        if residual and hidden_channels != embed_dim:
            raise ValueError('residual needs hidden_channels == embed_dim, '
                             f'got {hidden_channels} and {embed_dim}')
        self.residual = residual
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        self.normalize = normalize
        self.with_cp = with_cp
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
        if self.with_cp and self.training and x.requires_grad:
            return cp.checkpoint(
                self._embed,
                x,
                use_reentrant=False,
                context_fn=lambda:
                (contextlib.nullcontext(), frozen_norm_statistics(self)))
        return self._embed(x)

    def _embed(self, x: Tensor) -> Tensor:
        h = self.hidden(x)
        x = h + self.out(h) if self.residual else self.out(h)
        if self.normalize:
            x = F.normalize(x, p=2, dim=1)
        return x


@contextlib.contextmanager
def frozen_norm_statistics(module: nn.Module) -> Iterator[None]:
    """Batch norms that normalise with batch statistics but update nothing.

    The context of a checkpointed forward's recomputation: the norm layers
    give the same output as in the first forward (training mode, the batch's
    statistics) while their running statistics and batch counters stay as
    the first forward left them.

    Args:
        module (nn.Module): Every ``_BatchNorm`` below it is frozen.
    """
    norms = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    saved = [(m.momentum, m.num_batches_tracked.clone()
              if m.num_batches_tracked is not None else None) for m in norms]
    for norm in norms:
        norm.momentum = 0.0  # running = (1 - 0) * running + 0 * batch
    try:
        yield
    finally:
        for norm, (momentum, tracked) in zip(norms, saved):
            norm.momentum = momentum
            if tracked is not None:
                norm.num_batches_tracked.copy_(tracked)
