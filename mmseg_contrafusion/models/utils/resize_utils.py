"""Resizing feature maps between pyramid levels."""
from typing import Optional, Sequence

from torch import Tensor

from mmseg.models.utils import resize


def resize_to(x: Tensor,
              size: Sequence[int],
              mode: str = 'bilinear',
              align_corners: Optional[bool] = False) -> Tensor:
    """Resize a feature map to ``size``; no interpolation at the same size.

    The identity at the same size holds for either ``align_corners`` (an
    interpolation at the same size would be the identity too, at a cost).

    Args:
        x (Tensor): Feature map, shape (B, C, h, w).
        size (Sequence[int]): Target (H, W).
        mode (str): Interpolation mode. Defaults to 'bilinear'.
        align_corners (bool, optional): ``align_corners`` of the
            interpolation (None for the modes that take none). Defaults to
            False.

    Returns:
        Tensor: Shape (B, C, H, W); ``x`` itself if it has that size.
    """
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return resize(x, size=size, mode=mode, align_corners=align_corners)
