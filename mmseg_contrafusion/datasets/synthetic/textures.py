"""Textures: per-image noise fields, colour jitter and the colour palettes."""
from typing import Sequence

import cv2
import numpy as np

from .drawing import Color
from .geometry import Camera

# amplitudes of the noise fields of TextureContext, per texture
TERRAIN_NOISE = dict(fine=0.10, small=0.10, streak=0.12, coarse=0.10)
ROAD_NOISE = dict(fine=0.07, small=0.04, coarse=0.08, streak=0.04)
SIDEWALK_NOISE = dict(fine=0.06, small=0.05, coarse=0.06)
WALL_NOISE = dict(fine=0.05, small=0.04, mid=0.04, coarse=0.05)


def value_noise(height: int,
                width: int,
                cell: float,
                rng: np.random.Generator,
                aspect: float = 1.0) -> np.ndarray:
    """Smooth zero-mean, unit-variance noise with features of ``cell`` px."""
    cell_y = max(cell / aspect, 1.0)
    cell_x = max(cell, 1.0)
    small_h = int(np.ceil(height / cell_y)) + 2
    small_w = int(np.ceil(width / cell_x)) + 2
    small = rng.standard_normal((small_h, small_w)).astype(np.float32)
    big = cv2.resize(
        small, (int(small_w * cell_x), int(small_h * cell_y)),
        interpolation=cv2.INTER_CUBIC)
    big = big[:height, :width]
    return (big - big.mean()) / (big.std() + 1e-6)


class TextureContext:
    """Per-image noise fields shared by all textures.

    Slicing image-wide fields (instead of drawing noise per object) keeps
    textures continuous where objects of one class meet.
    """

    def __init__(self, cam: Camera, rng: np.random.Generator) -> None:
        self.cam = cam
        h, w = cam.height, cam.width
        unit = w / 512  # features scale with the image
        self.fine = rng.standard_normal((h, w)).astype(np.float32)
        self.small = value_noise(h, w, 2.5 * unit, rng)
        self.mid = value_noise(h, w, 8 * unit, rng)
        self.coarse = value_noise(h, w, 40 * unit, rng)
        self.streak = value_noise(h, w, 24 * unit, rng, aspect=8.0)
        self.clouds = value_noise(h, w, 60 * unit, rng, aspect=2.5)

    def field(self, name: str, x0: int, y0: int, h: int, w: int) -> np.ndarray:
        """The window of noise field ``name`` under a ``h`` x ``w`` box at
        ``(x0, y0)``."""
        return getattr(self, name)[y0:y0 + h, x0:x0 + w]


def textured(layer: np.ndarray, ctx: TextureContext, x0: int, y0: int,
             color: Sequence[float], **amplitudes: float) -> None:
    """Fill ``layer`` with ``color`` modulated by the named noise fields."""
    h, w = layer.shape[:2]
    mod = np.ones((h, w), np.float32)
    for name, amp in amplitudes.items():
        mod += amp * ctx.field(name, x0, y0, h, w)
    layer[:] = mod[..., None] * np.asarray(color, np.float32)


def jitter(rng: np.random.Generator,
           color: Sequence[float],
           amount: float = 0.08) -> Color:
    """Randomly perturb an RGB colour in [0, 1]."""
    c = np.asarray(color) * rng.uniform(1 - amount, 1 + amount) + \
        rng.uniform(-amount, amount, 3) * 0.2
    return tuple(np.clip(c, 0, 1).tolist())


BUILDING_COLORS = ((0.78, 0.72, 0.62), (0.62, 0.60, 0.58), (0.55, 0.33, 0.27),
                   (0.85, 0.83, 0.78), (0.70, 0.58, 0.45), (0.50, 0.52, 0.55),
                   (0.80, 0.70, 0.52), (0.60, 0.45, 0.40), (0.72, 0.75, 0.78))
CAR_COLORS = ((0.92, 0.92, 0.92), (0.08, 0.08, 0.09), (0.65, 0.66, 0.68),
              (0.38, 0.39, 0.41), (0.10, 0.18, 0.40), (0.60, 0.08, 0.08),
              (0.85, 0.85, 0.80), (0.20, 0.30, 0.22), (0.15, 0.30, 0.55),
              (0.75, 0.55, 0.15))
CLOTH_COLORS = ((0.10, 0.10, 0.12), (0.20, 0.22, 0.35), (0.55, 0.10, 0.12),
                (0.85, 0.85, 0.85), (0.35, 0.30, 0.25), (0.15, 0.35, 0.20),
                (0.60, 0.50, 0.30), (0.30, 0.30, 0.32), (0.70, 0.60, 0.20),
                (0.20, 0.40, 0.60))
SKIN_COLORS = ((0.85, 0.68, 0.55), (0.62, 0.45, 0.32), (0.40, 0.28, 0.20),
               (0.92, 0.78, 0.66))
