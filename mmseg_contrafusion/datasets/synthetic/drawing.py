"""Rasterisation: the painter type, polygon fills and the RGB renderer."""
from typing import TYPE_CHECKING, Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, ImageDraw

if TYPE_CHECKING:  # pragma: no cover
    from .scene import SceneObject

Color = Tuple[float, float, float]
# ``painter(layer, x0, y0)`` fills ``layer``, the float RGB bounding box of a
# polygon whose top left pixel is ``(x0, y0)``.
Painter = Callable[[np.ndarray, int, int], None]
# detail polygons (in image coordinates) with their colour
Shapes = List[Tuple[np.ndarray, Color]]
# groups of non-overlapping polygons, one colour a group
Groups = List[Tuple[List[np.ndarray], Color]]


def fill_polys(layer: np.ndarray, polygons: Sequence[np.ndarray], x0: int,
               y0: int, color: Sequence[float]) -> None:
    """Fill non-overlapping polygons given in image coordinates into a local
    layer whose top left pixel is ``(x0, y0)``."""
    # 3 fractional bits: sub-pixel vertex positions
    pts = [
        np.round((np.asarray(p) - (x0, y0)) * 8).astype(np.int32)
        for p in polygons
    ]
    cv2.fillPoly(layer, pts, tuple(float(c) for c in color), cv2.LINE_8, 3)


def fill_poly(layer: np.ndarray, points: np.ndarray, x0: int, y0: int,
              color: Sequence[float]) -> None:
    """Fill one polygon given in image coordinates into a local layer."""
    fill_polys(layer, [points], x0, y0, color)


def render_rgb(objects: List['SceneObject'], look: Dict, width: int,
               height: int, rng: np.random.Generator) -> np.ndarray:
    """Paint the objects back to front; returns a uint8 BGR image."""
    canvas = np.zeros((height, width, 3), np.float32)
    for obj in objects:
        pts = np.asarray(obj.polygon)
        x0, y0 = pts.min(0)
        x1, y1 = pts.max(0)
        w, h = x1 - x0 + 1, y1 - y0 + 1
        mask_img = Image.new('L', (int(w), int(h)), 0)
        ImageDraw.Draw(mask_img).polygon([(int(x - x0), int(y - y0))
                                          for x, y in obj.polygon],
                                         fill=1)
        mask = np.asarray(mask_img, dtype=bool)
        layer = np.empty((h, w, 3), np.float32)
        obj.painter(layer, int(x0), int(y0))
        region = canvas[y0:y1 + 1, x0:x1 + 1]
        region[mask] = layer[mask]
    img = np.clip(canvas, 0, 1) * look['gain'] * look['tint']
    img = np.clip(img, 0, 1)**look['gamma']
    if look['vignette'] > 0:
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        d = ((xx / width - 0.5)**2 + (yy / height - 0.5)**2) * 2
        img *= (1 - look['vignette'] * d)[..., None]
    if look['blur']:
        img = cv2.GaussianBlur(img, (3, 3), 0.6)
    img += look['noise'] * rng.standard_normal(img.shape).astype(np.float32)
    img = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return img[..., ::-1].copy()  # RGB -> BGR for cv2
