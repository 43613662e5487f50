"""Class colours: palettes, painted label maps and overlays."""
from typing import Any, Dict, Sequence

import numpy as np

IGNORE_INDEX = 255


def cityscapes_meta() -> Dict[str, Any]:
    """Classes and palette of mmseg's ``CityscapesDataset``.

    Returns:
        dict: ``classes`` (tuple of 19 names) and ``palette`` (19 RGB
        colours), in train id order.
    """
    from mmseg.datasets import CityscapesDataset

    meta = CityscapesDataset.METAINFO
    return dict(
        classes=tuple(meta['classes']),
        palette=[list(c) for c in meta['palette']])


def palette_lut(palette: Sequence[Sequence[int]]) -> np.ndarray:
    """A 256-entry colour table: class i gets ``palette[i]``, others black.

    Args:
        palette (Sequence[Sequence[int]]): RGB colour of each class.

    Returns:
        np.ndarray: Shape (256, 3), dtype uint8.
    """
    lut = np.zeros((256, 3), dtype=np.uint8)
    colors = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:256]
    lut[:len(colors)] = colors
    return lut


def colorize(label: np.ndarray,
             palette: Sequence[Sequence[int]]) -> np.ndarray:
    """Paint a label map with a palette.

    Args:
        label (np.ndarray): Class indices, shape (H, W).
        palette (Sequence[Sequence[int]]): RGB colour of each class; other
            values (e.g. the ignore index 255) are black.

    Returns:
        np.ndarray: RGB image, shape (H, W, 3), dtype uint8.
    """
    return palette_lut(palette)[label.astype(np.uint8)]


def overlay(image_rgb: np.ndarray,
            label: np.ndarray,
            palette: Sequence[Sequence[int]],
            opacity: float = 0.5,
            ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Blend class colours into an image.

    Args:
        image_rgb (np.ndarray): RGB image, shape (H, W, 3).
        label (np.ndarray): Class indices, shape (H, W).
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        opacity (float): Weight of the colours, in [0, 1]. Defaults to 0.5.
        ignore_index (int): Pixels with this value keep the image.
            Defaults to 255.

    Returns:
        np.ndarray: RGB image, shape (H, W, 3), dtype uint8.
    """
    colors = colorize(label, palette).astype(np.float32)
    blended = (1.0 - opacity) * image_rgb.astype(np.float32) + opacity * colors
    blended[label == ignore_index] = image_rgb[label == ignore_index]
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def paint(label: np.ndarray, image_rgb: np.ndarray,
          palette: Sequence[Sequence[int]], opacity: float) -> np.ndarray:
    """Colour a label map, blended over the image unless opacity is 1.

    Args:
        label (np.ndarray): Class indices, shape (H, W).
        image_rgb (np.ndarray): The image, shape (H, W, 3).
        palette (Sequence[Sequence[int]]): RGB colour per class.
        opacity (float): Weight of the colours; 1 (or an image of another
            size) gives the colours alone.

    Returns:
        np.ndarray: RGB, shape (H, W, 3), dtype uint8.
    """
    if opacity >= 1.0 or label.shape != image_rgb.shape[:2]:
        return colorize(label, palette)
    return overlay(image_rgb, label, palette, opacity, IGNORE_INDEX)
