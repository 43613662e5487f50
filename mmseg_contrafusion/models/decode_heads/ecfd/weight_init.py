"""Weight initialisation of the ECFD decoder's parts.

The original ECFD code (songyang-xiaobai/ECFD-main, mmseg 0.11) builds its
decoder from plain ``torch.nn`` layers and only re-initialises the
classifier (normal, std 0.01) and the deformable attentions (Deformable
DETR's scheme): every other conv and linear keeps PyTorch's default
initialisation. mmcv's ``ConvModule`` instead applies Kaiming (fan-out,
ReLU) init with zero biases, at construction and again in its
``init_weights``. The ECFD parts therefore take ``init``:

- ``'pytorch'``: as the original; the layers that ``ConvModule`` would have
  re-initialised are re-drawn from PyTorch's default distribution.
- ``'kaiming'``: mmcv's ``ConvModule`` default (and a truncated-normal
  init of the feed-forward linears).
"""
import math

import torch.nn as nn
from torch.nn.modules.conv import _ConvNd

ECFD_INITS = ('pytorch', 'kaiming')


def check_init(init: str) -> str:
    """Validate an ``init`` argument.

    Args:
        init (str): ``'pytorch'`` or ``'kaiming'``.

    Returns:
        str: ``init``.

    Raises:
        ValueError: If ``init`` is not one of :data:`ECFD_INITS`.
    """
    if init not in ECFD_INITS:
        raise ValueError(f'init must be one of {ECFD_INITS}, got {init!r}')
    return init


def pytorch_default_init_(module: nn.Module) -> None:
    r"""Re-draw PyTorch's default init of every conv layer in ``module``.

    ``reset_parameters`` of each :class:`torch.nn.Conv2d` (and the other
    ``_ConvNd`` layers): weights Kaiming-uniform with ``a = sqrt(5)``, i.e.
    uniform in :math:`\pm 1/\sqrt{fan_{in}}`, biases uniform in the same
    bound. Norm layers are left alone.

    Args:
        module (nn.Module): The module whose convs to re-initialise.
    """
    for m in module.modules():
        if isinstance(m, _ConvNd):
            m.reset_parameters()


def conv_transpose_default_init_(conv: nn.Conv2d) -> None:
    r"""Give a conv PyTorch's default init of the equivalent transposed conv.

    A stride-1 ``ConvTranspose2d(in, out, k)`` computes what a
    ``Conv2d(in, out, k)`` with the (flipped, transposed) weight computes,
    but PyTorch draws its default weights with the fan-in of the transposed
    weight layout ``(in, out / groups, k, k)``, i.e. ``out / groups * k * k``:
    weights and biases uniform in :math:`\pm 1/\sqrt{out \cdot k^2}`.
    The original ECFD reduces C4 with such a 1x1 ``ConvTranspose2d``.

    Args:
        conv (nn.Conv2d): The conv to initialise in place.
    """
    fan_in = conv.out_channels // conv.groups * math.prod(conv.kernel_size)
    bound = 1. / math.sqrt(fan_in)
    nn.init.uniform_(conv.weight, -bound, bound)
    if conv.bias is not None:
        nn.init.uniform_(conv.bias, -bound, bound)
