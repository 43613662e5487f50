"""Camera model and polygon geometry of the synthetic street scenes.

World coordinates are metres (``x`` to the right, ``y`` up from the road,
``z`` forward); the helpers here project world-space strips, facades and
rectangles to image polygons and clip them to label polygons with integer
vertices, as in the official Cityscapes annotations.
"""
from typing import List, Optional

import numpy as np


class Camera:
    """Pinhole camera at ``cam_h`` metres above a flat road.

    World coordinates are metres: ``x`` to the right, ``y`` up from the road
    surface and ``z`` forward. A quadratic lateral offset ``bend * z**2``
    makes the street curve gently.

    Args:
        width (int): Image width in pixels.
        height (int): Image height in pixels.
        rng (np.random.Generator): Source of the random camera parameters.
    """

    def __init__(self, width: int, height: int,
                 rng: np.random.Generator) -> None:
        self.width = width
        self.height = height
        # Cityscapes: f = 2262 px for 2048 px wide images.
        self.focal = width * rng.uniform(1.0, 1.2)
        self.cam_h = rng.uniform(1.15, 1.45)
        self.horizon = height * rng.uniform(0.38, 0.46)
        self.center_x = width * (0.5 + rng.uniform(-0.06, 0.06))
        self.bend = rng.uniform(-6e-4, 6e-4) if rng.random() < 0.5 else 0.0

    def project(self, x, y, z) -> np.ndarray:
        """Project world points to pixel coordinates.

        Args:
            x, y, z: World coordinates (scalars or broadcastable arrays).

        Returns:
            np.ndarray: Points of shape ``(..., 2)`` as ``(u, v)``.
        """
        x, y, z = np.broadcast_arrays(
            np.asarray(x, np.float64), np.asarray(y, np.float64),
            np.asarray(z, np.float64))
        u = self.center_x + self.focal * (x + self.bend * z * z) / z
        v = self.horizon + self.focal * (self.cam_h - y) / z
        return np.stack([u, v], axis=-1)

    def scale(self, z: float) -> float:
        """Pixels per metre at depth ``z``."""
        return self.focal / z

    def ground_row(self, z: float) -> float:
        """Image row of the road surface at depth ``z``."""
        return self.horizon + self.focal * self.cam_h / z


def ground_strip(cam: Camera,
                 x0: float,
                 x1: float,
                 z0: float,
                 z1: float,
                 y0: float = 0.0,
                 y1: float = 0.0,
                 n: int = 12) -> np.ndarray:
    """Horizontal strip between lateral positions ``x0`` and ``x1``."""
    zs = np.geomspace(z0, z1, n)
    near_far = cam.project(x0, y0, zs)
    far_near = cam.project(x1, y1, zs[::-1])
    return np.concatenate([near_far, far_near])


def facade(cam: Camera,
           x: float,
           z0: float,
           z1: float,
           y0: float,
           y1,
           n: int = 6) -> np.ndarray:
    """Vertical plane at lateral position ``x`` from depth ``z0`` to ``z1``.

    ``y1`` is a height or an array of ``n`` heights (a ragged top edge).
    """
    zs = np.geomspace(z0, z1, n)
    bottom = cam.project(x, y0, zs)
    top = cam.project(x, np.broadcast_to(y1, zs.shape), zs)[::-1]
    return np.concatenate([bottom, top])


def front_rect(cam: Camera, x0: float, x1: float, y0: float, y1: float,
               z: float) -> np.ndarray:
    """Rectangle facing the camera at depth ``z``."""
    return cam.project([x0, x1, x1, x0], [y0, y0, y1, y1], z)


def blob(cam: Camera,
         xc: float,
         yc: float,
         z: float,
         rx: float,
         ry: float,
         rng: np.random.Generator,
         n: int = 20,
         jitter: float = 0.15) -> np.ndarray:
    """Irregular ellipse (a tree crown, a bush) facing the camera."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    radius = 1 + jitter * rng.standard_normal(n).clip(-2, 2)
    return cam.project(xc + rx * radius * np.cos(angles),
                       yc + ry * radius * np.sin(angles), z)


def clip_polygon(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip a polygon to the image (Sutherland-Hodgman)."""
    bounds = ((0, 0.0, False), (0, width - 1.0, True), (1, 0.0, False),
              (1, height - 1.0, True))
    pts = [tuple(p) for p in points]
    for axis, limit, is_max in bounds:
        if not pts:
            break
        out = []
        prev = pts[-1]
        prev_in = prev[axis] <= limit if is_max else prev[axis] >= limit
        for cur in pts:
            cur_in = cur[axis] <= limit if is_max else cur[axis] >= limit
            if cur_in != prev_in:
                t = (limit - prev[axis]) / (cur[axis] - prev[axis])
                out.append((prev[0] + t * (cur[0] - prev[0]),
                            prev[1] + t * (cur[1] - prev[1])))
            if cur_in:
                out.append(cur)
            prev, prev_in = cur, cur_in
        pts = out
    return np.asarray(pts, np.float64).reshape(-1, 2)


def to_label_polygon(points: np.ndarray, width: int,
                     height: int) -> Optional[List[List[int]]]:
    """Clip to the image and round to integer vertices as in Cityscapes.

    Returns:
        list | None: ``[[x, y], ...]``, or None when nothing is left.
    """
    pts = np.round(clip_polygon(points, width, height)).astype(np.int64)
    if len(pts) < 3:
        return None
    keep = np.any(pts != np.roll(pts, 1, axis=0), axis=1)
    pts = pts[keep]
    if len(pts) < 3:
        return None
    x, y = pts[:, 0], pts[:, 1]
    if np.dot(x, np.roll(y, 1)) == np.dot(y, np.roll(x, 1)):
        return None  # zero area
    return pts.tolist()
