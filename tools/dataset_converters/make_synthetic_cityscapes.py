"""Generate a small synthetic street-scene dataset in the Cityscapes layout.

The output mirrors the official Cityscapes tree, so that every tool written
for Cityscapes (``tools/dataset_converters/cityscapes.py``, mmseg's
``CityscapesDataset``, cityscapesscripts) runs on it unchanged::

    OUT_DIR/
    ├── leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
    └── gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_polygons.json
                                                    _gtFine_labelIds.png
                                                    _gtFine_instanceIds.png
                                                    _gtFine_color.png

Each scene is built as a list of labelled polygons (official Cityscapes label
names, drawn back to front like the official annotations) from a pinhole
camera model: sky, a road in perspective towards a vanishing point with lane
markings, sidewalks with kerbs, building facades with windows, walls, fences,
terrain, trees, poles with traffic signs and lights, cars, buses, trucks,
persons and cyclists, optionally the ego vehicle's bonnet. The label images
are rendered from the polygon JSON by cityscapesscripts itself, so they agree
with the official tools exactly; the RGB image is painted from the same
polygons with a texture per class and random colours and lighting per image.

Everything is seeded: the same arguments give byte-identical files.

Example::

    python tools/dataset_converters/make_synthetic_cityscapes.py \
        data/synthetic_cityscapes --num-train 24 --num-val 8
    python tools/dataset_converters/cityscapes.py data/synthetic_cityscapes
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time
import types
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, ImageDraw

try:
    from cityscapesscripts.helpers.annotation import Annotation
    from cityscapesscripts.helpers.labels import id2label, name2label
    from cityscapesscripts.preparation.json2instanceImg import \
        createInstanceImage
    from cityscapesscripts.preparation.json2labelImg import json2labelImg
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        'make_synthetic_cityscapes.py needs cityscapesscripts: run '
        '`pip install cityscapesscripts==2.3.0`.') from err

TRAIN_CITIES = ('aachen', 'bochum', 'bremen')
VAL_CITIES = ('frankfurt', 'lindau', 'munster')
SPLIT_CITIES = {'train': TRAIN_CITIES, 'val': VAL_CITIES}
# Cityscapes annotates the 20th frame of each 30-frame snippet.
FRAME_ID = 19
# Written into the output folder; marks it as ours, so that a later run may
# replace it without ``--overwrite``.
MARKER_FILE = 'synthetic_cityscapes.json'
GENERATOR_VERSION = 1
# What a previous run wrote, and what is replaced by the next one.
GENERATED_ITEMS = ('leftImg8bit', 'gtFine', MARKER_FILE, 'train.txt',
                   'val.txt', 'test.txt')

Color = Tuple[float, float, float]
# amplitudes of the noise fields of _Context, per texture
TERRAIN_NOISE = dict(fine=0.10, small=0.10, streak=0.12, coarse=0.10)
ROAD_NOISE = dict(fine=0.07, small=0.04, coarse=0.08, streak=0.04)
SIDEWALK_NOISE = dict(fine=0.06, small=0.05, coarse=0.06)
WALL_NOISE = dict(fine=0.05, small=0.04, mid=0.04, coarse=0.05)
Painter = Callable[[np.ndarray, int, int], None]
# detail polygons (in image coordinates) with their colour
Shapes = List[Tuple[np.ndarray, Color]]
# groups of non-overlapping polygons, one colour a group
Groups = List[Tuple[List[np.ndarray], Color]]


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------
class _Camera:
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


def _ground_strip(cam: _Camera,
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


def _facade(cam: _Camera,
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


def _front_rect(cam: _Camera, x0: float, x1: float, y0: float, y1: float,
                z: float) -> np.ndarray:
    """Rectangle facing the camera at depth ``z``."""
    return cam.project([x0, x1, x1, x0], [y0, y0, y1, y1], z)


def _blob(cam: _Camera,
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


def _clip_polygon(points: np.ndarray, width: int, height: int) -> np.ndarray:
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


def _to_label_polygon(points: np.ndarray, width: int,
                      height: int) -> Optional[List[List[int]]]:
    """Clip to the image and round to integer vertices as in Cityscapes.

    Returns:
        list | None: ``[[x, y], ...]``, or None when nothing is left.
    """
    pts = np.round(_clip_polygon(points, width, height)).astype(np.int64)
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


# ---------------------------------------------------------------------------
# Textures
# ---------------------------------------------------------------------------
def _value_noise(height: int,
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


class _Context:
    """Per-image noise fields shared by all textures.

    Slicing image-wide fields (instead of drawing noise per object) keeps
    textures continuous where objects of one class meet.
    """

    def __init__(self, cam: _Camera, rng: np.random.Generator) -> None:
        self.cam = cam
        h, w = cam.height, cam.width
        unit = w / 512  # features scale with the image
        self.fine = rng.standard_normal((h, w)).astype(np.float32)
        self.small = _value_noise(h, w, 2.5 * unit, rng)
        self.mid = _value_noise(h, w, 8 * unit, rng)
        self.coarse = _value_noise(h, w, 40 * unit, rng)
        self.streak = _value_noise(h, w, 24 * unit, rng, aspect=8.0)
        self.clouds = _value_noise(h, w, 60 * unit, rng, aspect=2.5)

    def field(self, name: str, x0: int, y0: int, h: int, w: int) -> np.ndarray:
        return getattr(self, name)[y0:y0 + h, x0:x0 + w]


def _textured(layer: np.ndarray, ctx: _Context, x0: int, y0: int,
              color: Sequence[float], **amplitudes: float) -> None:
    """Fill ``layer`` with ``color`` modulated by the named noise fields."""
    h, w = layer.shape[:2]
    mod = np.ones((h, w), np.float32)
    for name, amp in amplitudes.items():
        mod += amp * ctx.field(name, x0, y0, h, w)
    layer[:] = mod[..., None] * np.asarray(color, np.float32)


def _fill_polys(layer: np.ndarray, polygons: Sequence[np.ndarray], x0: int,
                y0: int, color: Sequence[float]) -> None:
    """Fill non-overlapping polygons given in image coordinates into a local
    layer whose top left pixel is ``(x0, y0)``."""
    # 3 fractional bits: sub-pixel vertex positions
    pts = [
        np.round((np.asarray(p) - (x0, y0)) * 8).astype(np.int32)
        for p in polygons
    ]
    cv2.fillPoly(layer, pts, tuple(float(c) for c in color), cv2.LINE_8, 3)


def _fill_poly(layer: np.ndarray, points: np.ndarray, x0: int, y0: int,
               color: Sequence[float]) -> None:
    """Fill one polygon given in image coordinates into a local layer."""
    _fill_polys(layer, [points], x0, y0, color)


def _jitter(rng: np.random.Generator,
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


# ---------------------------------------------------------------------------
# Scene description
# ---------------------------------------------------------------------------
@dataclass
class _Object:
    """One labelled polygon and the painter of its pixels.

    Attributes:
        label (str): Official Cityscapes label name.
        polygon (list): Integer ``[[x, y], ...]`` vertices inside the image.
        painter (callable): ``painter(layer, x0, y0)`` fills ``layer`` (the
            float RGB bounding box of the polygon, whose top left pixel is
            ``(x0, y0)``); only the pixels inside the polygon are kept.
    """
    label: str
    polygon: List[List[int]]
    painter: Painter


class _Scene:
    """Collects the objects of one image in drawing order.

    Background layers are added in order with :meth:`add`; objects standing
    in the street are added with :meth:`add_thing` and drawn far to near.
    """

    def __init__(self, cam: _Camera, ctx: _Context,
                 rng: np.random.Generator) -> None:
        self.cam = cam
        self.ctx = ctx
        self.rng = rng
        self.layers: List[_Object] = []
        self.things: List[Tuple[float, int, _Object]] = []
        self.front: List[_Object] = []

    def _make(self, label: str, points: np.ndarray,
              painter: Painter) -> Optional[_Object]:
        assert label in name2label, label
        polygon = _to_label_polygon(points, self.cam.width, self.cam.height)
        return None if polygon is None else _Object(label, polygon, painter)

    def add(self, label: str, points: np.ndarray, painter: Painter) -> None:
        obj = self._make(label, points, painter)
        if obj is not None:
            self.layers.append(obj)

    def add_thing(self, depth: float, label: str, points: np.ndarray,
                  painter: Painter) -> None:
        obj = self._make(label, points, painter)
        if obj is not None:
            self.things.append((depth, len(self.things), obj))

    def add_front(self, label: str, points: np.ndarray,
                  painter: Painter) -> None:
        obj = self._make(label, points, painter)
        if obj is not None:
            self.front.append(obj)

    def objects(self) -> List[_Object]:
        things = sorted(self.things, key=lambda t: (-t[0], t[1]))
        return self.layers + [t[2] for t in things] + self.front


# ---------------------------------------------------------------------------
# Painters (closures over their random parameters, drawn at build time)
# ---------------------------------------------------------------------------
def _sky_painter(ctx: _Context, rng: np.random.Generator) -> Painter:
    overcast = rng.random() < 0.35
    if overcast:
        top = _jitter(rng, (0.70, 0.72, 0.76))
        bottom = _jitter(rng, (0.86, 0.87, 0.88))
    else:
        top = _jitter(rng, (0.30, 0.50, 0.85))
        bottom = _jitter(rng, (0.72, 0.82, 0.93))
    cloudiness = rng.uniform(0.0, 0.9)
    cloud = _jitter(rng, (0.95, 0.95, 0.96), 0.04)
    horizon = ctx.cam.horizon

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        t = np.clip((np.arange(y0, y0 + h) + 1) / horizon, 0, 1)**0.7
        grad = (1 - t[:, None]) * np.asarray(top) + t[:, None] * bottom
        layer[:] = grad[:, None, :]
        c = ctx.field('clouds', x0, y0, h, w) + \
            0.3 * ctx.field('mid', x0, y0, h, w)
        alpha = np.clip((c - 1.2 + cloudiness) * 0.8, 0, 1)[..., None]
        layer[:] = layer * (1 - alpha) + alpha * np.asarray(cloud)

    return paint


def _terrain_painter(ctx: _Context, rng: np.random.Generator) -> Painter:
    color = _jitter(rng, (0.45, 0.52, 0.25) if rng.random() < 0.7 else
                    (0.55, 0.48, 0.32), 0.12)

    def paint(layer, x0, y0):
        _textured(layer, ctx, x0, y0, color, **TERRAIN_NOISE)

    return paint


def _vegetation_painter(ctx: _Context,
                        rng: np.random.Generator,
                        shade: float = 1.0) -> Painter:
    base = np.asarray(
        _jitter(rng, ((0.16, 0.30, 0.08), (0.22, 0.34, 0.10),
                      (0.28, 0.36, 0.12))[rng.integers(3)], 0.15)) * shade
    light = np.clip(base * rng.uniform(1.8, 2.6) + [0.05, 0.06, 0.0], 0, 1)

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        leaves = ctx.field('small', x0, y0, h, w) + \
            0.5 * ctx.field('mid', x0, y0, h, w) + \
            0.3 * ctx.field('fine', x0, y0, h, w)
        t = 1 / (1 + np.exp(-2.5 * leaves))
        layer[:] = (1 - t[..., None]) * base + t[..., None] * light

    return paint


def _flat_painter(ctx: _Context, color: Color, **amps: float) -> Painter:

    def paint(layer, x0, y0):
        _textured(layer, ctx, x0, y0, color, **amps)

    return paint


def _road_painter(ctx: _Context, rng: np.random.Generator,
                  marks: List[np.ndarray]) -> Painter:
    color = _jitter(rng, (0.36, 0.36, 0.38), 0.15)
    paint_col = _jitter(rng, (0.85, 0.85, 0.82), 0.05)

    def paint(layer, x0, y0):
        _textured(layer, ctx, x0, y0, color, **ROAD_NOISE)
        for quad in marks:
            _fill_poly(layer, quad, x0, y0, paint_col)

    return paint


def _sidewalk_painter(ctx: _Context, rng: np.random.Generator,
                      color: Color) -> Painter:
    cam = ctx.cam
    tile = rng.uniform(0.3, 0.8)

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        _textured(layer, ctx, x0, y0, color, **SIDEWALK_NOISE)
        rows = np.arange(y0, y0 + h, dtype=np.float64) + 0.5
        below = rows > cam.horizon + 1
        z = np.full(h, 1e6)
        z[below] = cam.focal * cam.cam_h / (rows[below] - cam.horizon)
        px_per_tile = cam.focal * tile / z  # projected tile width
        phase = np.mod(z / tile, 1.0)
        joint = (phase < 0.12) & (px_per_tile > 3)
        layer[joint] *= 0.82

    return paint


def _building_painter(ctx: _Context, groups: Groups, color: Color) -> Painter:
    """Wall colour plus groups of same-coloured detail polygons."""

    def paint(layer, x0, y0):
        _textured(layer, ctx, x0, y0, color, **WALL_NOISE)
        for polys, col in groups:
            _fill_polys(layer, polys, x0, y0, col)

    return paint


def _building_windows(cam: _Camera,
                      rng: np.random.Generator,
                      height: float,
                      shade: float,
                      plane_x: Optional[float] = None,
                      z0: float = 0.0,
                      z1: float = 0.0,
                      front_z: Optional[float] = None,
                      fx0: float = 0.0,
                      fx1: float = 0.0) -> Groups:
    """Window quads of a building ``height`` metres tall.

    The facade runs along the street in the plane ``x = plane_x`` from depth
    ``z0`` to ``z1``, or, if ``front_z`` is given, faces the camera at that
    depth from ``x = fx0`` to ``fx1``.

    Returns:
        list: ``(polygons, colour)`` groups: window frames, then glass in a
        few shades (some windows lit).
    """
    floor_h = rng.uniform(2.9, 3.6)
    spacing = rng.uniform(2.2, 3.6)
    win_w = spacing * rng.uniform(0.35, 0.6)
    win_h = floor_h * rng.uniform(0.4, 0.6)
    frame = tuple(
        (np.asarray(_jitter(rng, (0.85, 0.85, 0.82), 0.1)) * shade).tolist())
    glass = np.asarray((0.16, 0.19, 0.24)) * shade
    shop = rng.random() < 0.6
    if front_z is None:
        length = z1 - z0
        pix = cam.scale(max(z0, 1.0)) * win_w
    else:
        length = abs(fx1 - fx0)
        pix = cam.scale(front_z) * win_w
    n_cols = int(length // spacing)
    n_rows = int((height - 1.0) // floor_h)
    if pix < 1.2 or n_cols < 1 or n_rows < 1:
        return []
    shape = (n_rows, n_cols)
    a = np.broadcast_to((length - n_cols * spacing) / 2 +
                        np.arange(n_cols) * spacing + (spacing - win_w) / 2,
                        shape).copy()
    b = a + win_w
    ya = np.broadcast_to(
        (np.arange(n_rows) * floor_h + (floor_h - win_h) * 0.6)[:, None],
        shape).copy()
    yb = ya + win_h
    if shop:  # shop windows on the ground floor
        a[0] -= 0.2 * win_w
        b[0] += 0.2 * win_w
        ya[0], yb[0] = 0.4, floor_h * 0.85
    a, b, ya, yb = (v.ravel() for v in (a, b, ya, yb))
    level = rng.integers(0, 4, a.size)
    level[rng.random(a.size) < 0.12] = 4  # lights on
    ys = np.stack([ya, ya, yb, yb], 1)
    if front_z is None:
        za, zb = z0 + a, z0 + b
        quads = cam.project(plane_x, ys, np.stack([za, zb, zb, za], 1))
        keep = cam.scale(za) * win_w >= 1.0
    else:
        s = 1.0 if fx1 > fx0 else -1.0
        xa, xb = fx0 + s * a, fx0 + s * b
        quads = cam.project(np.stack([xa, xb, xb, xa], 1), ys, front_z)
        keep = np.ones(a.size, bool)
    u, v = quads[..., 0], quads[..., 1]
    keep &= (u.max(1) >= 0) & (u.min(1) < cam.width) & (v.max(1) >= 0) & (
        v.min(1) < cam.height)
    quads, level = quads[keep], level[keep]
    if not len(quads):
        return []
    center = quads.mean(1, keepdims=True)
    groups = [(list(center + (quads - center) * 1.18), frame)]
    for k in range(5):
        col = glass * (0.6 + 0.3 * k) if k < 4 else \
            glass + 0.45 * np.asarray((1.0, 0.85, 0.5))
        if np.any(level == k):
            groups.append(
                (list(quads[level == k]), tuple(np.clip(col, 0, 1).tolist())))
    return groups


def _pole_painter(ctx: _Context, color: Color) -> Painter:

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        _textured(layer, ctx, x0, y0, color, fine=0.04)
        if w >= 3:
            t = np.linspace(-1, 1, w)
            layer *= (1.15 - 0.35 * t**2 - 0.1 * t)[None, :, None]

    return paint


def _shapes_painter(ctx: _Context, base: Color, shapes: Shapes,
                    **amps: float) -> Painter:
    """Flat base colour plus a list of detail polygons."""

    def paint(layer, x0, y0):
        _textured(layer, ctx, x0, y0, base, **amps)
        for pts, col in shapes:
            _fill_poly(layer, pts, x0, y0, col)

    return paint


def _person_painter(ctx: _Context, rng: np.random.Generator,
                    rows: Tuple[float, float, float]) -> Painter:
    """Clothes by image row: ``rows`` are the neck, hip and knee rows."""
    skin = _jitter(rng, SKIN_COLORS[rng.integers(len(SKIN_COLORS))], 0.05)
    hair = _jitter(rng, (0.12, 0.09, 0.07), 0.1)
    top = _jitter(rng, CLOTH_COLORS[rng.integers(len(CLOTH_COLORS))])
    legs = _jitter(rng, CLOTH_COLORS[rng.integers(len(CLOTH_COLORS))])
    long_coat = rng.random() < 0.25
    neck, hip, knee = rows

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        _textured(layer, ctx, x0, y0, (1.0, 1.0, 1.0), fine=0.05)
        r = np.arange(y0, y0 + h) + 0.5
        col = np.empty((h, 3), np.float32)
        head = r < neck
        head_top = r < neck - (neck - y0) * 0.55
        col[:] = legs
        col[r < (knee if long_coat else hip)] = top
        col[head] = skin
        col[head_top] = hair
        layer *= col[:, None, :]

    return paint


# ---------------------------------------------------------------------------
# Scene builder
# ---------------------------------------------------------------------------
PERSON_TEMPLATE = np.array([  # metres, for a 1.75 m tall person facing us
    (0.24, 1.45), (0.27, 1.15), (0.28, 0.82), (0.20, 0.80), (0.19, 1.20),
    (0.17, 0.95), (0.17, 0.0), (0.04, 0.0), (0.0, 0.80), (-0.04, 0.0),
    (-0.17, 0.0), (-0.17, 0.95), (-0.19, 1.20), (-0.20, 0.80), (-0.28, 0.82),
    (-0.27, 1.15), (-0.24, 1.45), (-0.07, 1.50)
])


def _person_points(xc: float, z: float, height: float, width: float,
                   stride: float, base_y: float,
                   cam: _Camera) -> Tuple[np.ndarray, Tuple[float, ...]]:
    """Silhouette of a person and the rows of neck, hip and knees."""
    s = height / 1.75
    body = PERSON_TEMPLATE.copy()
    legs = body[:, 1] <= 0.01
    body[legs, 0] += np.sign(body[legs, 0]) * stride
    angles = np.linspace(np.pi * 1.35, -np.pi * 0.35, 9)
    head = np.stack([0.115 * np.cos(angles), 1.62 + 0.13 * np.sin(angles)], 1)
    pts = np.concatenate([head[4:], body, head[:4]])
    xs = xc + pts[:, 0] * s * width
    ys = base_y + pts[:, 1] * s
    poly = cam.project(xs, ys, z)
    rows = tuple(
        float(cam.project(xc, base_y + hh * s, z)[1])
        for hh in (1.5, 0.95, 0.5))
    return poly, rows


def _add_vehicle(scene: _Scene, kind: str, xc: float, z: float,
                 oncoming: bool) -> None:
    """Add a car, bus or truck seen from behind (or the front if
    ``oncoming``), as the silhouette of its 3D box."""
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    if kind == 'car':
        w, length = rng.uniform(1.7, 1.95), rng.uniform(3.9, 4.9)
        h_body, h_top = rng.uniform(0.75, 0.95), rng.uniform(1.4, 1.65)
        color = _jitter(rng, CAR_COLORS[rng.integers(len(CAR_COLORS))], 0.05)
        cabin = (0.42, 0.22, 0.72)  # half width, start and end along length
    elif kind == 'bus':
        w, length = 2.55, rng.uniform(11, 13)
        h_body = h_top = rng.uniform(3.0, 3.3)
        color = _jitter(rng, ((0.85, 0.75, 0.15), (0.85, 0.85, 0.85),
                              (0.75, 0.15, 0.12))[rng.integers(3)], 0.05)
        cabin = None
    else:
        w, length = 2.5, rng.uniform(7, 10)
        h_body = h_top = rng.uniform(3.0, 3.8)
        color = _jitter(rng, ((0.90, 0.90, 0.90), (0.45, 0.47, 0.50),
                              (0.20, 0.35, 0.60))[rng.integers(3)], 0.06)
        cabin = None
    x0, x1 = xc - w / 2, xc + w / 2
    z1 = z + length
    corners = [(x, y, zz) for x in (x0, x1) for y in (0.0, h_body)
               for zz in (z, z1)]
    if cabin is not None:
        hw, ca, cb = cabin
        corners += [(xc + sx * hw * w, y, z + f * length) for sx in (-1, 1)
                    for y in (h_body, h_top) for f in (ca, cb)]
    pts = cam.project(*np.asarray(corners).T)
    hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)

    shade = rng.uniform(0.75, 1.0)
    dark = (0.05, 0.05, 0.06)
    glass = _jitter(rng, (0.12, 0.14, 0.18), 0.1)
    lamp = (0.95, 0.93, 0.85) if oncoming else (0.80, 0.05, 0.05)
    shapes = []
    # side of the vehicle facing the camera
    side_x = x1 if xc < 0 else x0
    side_visible = abs(xc) > w / 2
    if side_visible:
        rw = 0.33 if kind == 'car' else 0.5  # wheel radius
        for f in ((0.15, 0.85) if kind == 'car' else (0.12, 0.8)):
            zw = z + f * length
            shapes.append(
                (cam.project(side_x, [0, 0, 2 * rw, 2 * rw],
                             [zw - rw, zw + rw, zw + rw, zw - rw]), dark))
        if kind == 'car':
            hw, ca, cb = cabin
            cx = xc + np.sign(side_x - xc) * hw * w
            ys = [h_body + 0.05, h_body + 0.05, h_top - 0.06, h_top - 0.06]
            zs = [z + f * length for f in (ca, cb, cb - 0.03, ca + 0.05)]
            shapes.append((cam.project(cx, ys, zs), glass))
        elif kind == 'bus':
            ys = [1.2, 1.2, h_top - 0.35, h_top - 0.35]
            zs = [z + 0.5, z1 - 0.5, z1 - 0.5, z + 0.5]
            shapes.append((cam.project(side_x, ys, zs), glass))
    # rear (or front) face
    shapes.append((_front_rect(cam, x0 + 0.05, x1 - 0.05, 0.0, 0.35, z), dark))
    if kind == 'car':
        hw, ca, cb = cabin
        xs = [
            xc - 0.45 * w, xc + 0.45 * w, xc + 0.92 * hw * w,
            xc - 0.92 * hw * w
        ]
        ys = [h_body + 0.02, h_body + 0.02, h_top - 0.05, h_top - 0.05]
        zs = [z + 0.05 * length] * 2 + [z + ca * length] * 2
        shapes.append((cam.project(xs, ys, zs), glass))  # rear window
        ly0, ly1 = h_body * 0.72, h_body * 0.92
        plate = (0.92, 0.92, 0.9)
        shapes.append((_front_rect(cam, xc - 0.26, xc + 0.26, 0.38, 0.5,
                                   z), plate))
    else:
        if kind == 'bus':
            shapes.append((_front_rect(cam, x0 + 0.15, x1 - 0.15, 1.3,
                                       h_top - 0.4, z), glass))
            shapes.append((_front_rect(cam, x0 + 0.4, x1 - 0.4, h_top - 0.35,
                                       h_top - 0.12, z), (0.9, 0.55, 0.1)))
        else:
            shapes.append((_front_rect(cam, xc - 0.02, xc + 0.02, 0.5,
                                       h_top - 0.1, z), dark))
        ly0, ly1 = 0.45, 0.75
    for sx in (-1, 1):
        a, b = xc + sx * (w / 2 - 0.08), xc + sx * (w / 2 - 0.35)
        shapes.append((_front_rect(cam, a, b, ly0, ly1, z), lamp))
    painter = _shapes_painter(
        ctx, tuple(np.asarray(color) * shade), shapes, fine=0.03, small=0.03)
    scene.add_thing(z, kind, hull, painter)


def _add_person(scene: _Scene,
                xc: float,
                z: float,
                label: str = 'person',
                base_y: float = 0.0,
                height: Optional[float] = None) -> None:
    cam, rng = scene.cam, scene.rng
    if height is None:
        height = rng.uniform(1.55, 1.95) if rng.random() < 0.9 else \
            rng.uniform(1.0, 1.35)
    stride = rng.uniform(0.0, 0.2) if label == 'person' else 0.05
    poly, rows = _person_points(xc, z, height, rng.uniform(0.9, 1.25), stride,
                                base_y, cam)
    scene.add_thing(z, label, poly, _person_painter(scene.ctx, rng, rows))


def _add_cyclist(scene: _Scene, xc: float, z: float) -> None:
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    bike = np.array([(-0.03, 0.0), (0.03, 0.0), (0.03, 0.9), (0.3, 0.95),
                     (0.3, 1.02), (-0.3, 1.02), (-0.3, 0.95), (-0.03, 0.9)])
    pts = cam.project(xc + bike[:, 0], bike[:, 1], z + 0.3)
    scene.add_thing(
        z + 0.3, 'bicycle', pts,
        _flat_painter(ctx, _jitter(rng, (0.1, 0.1, 0.12)), fine=0.05))
    _add_person(
        scene, xc, z, 'rider', base_y=0.3, height=rng.uniform(1.45, 1.65))


def _add_tree(scene: _Scene, xc: float, z: float, max_r: float) -> None:
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    trunk_h = rng.uniform(2.0, 3.5)
    r = min(rng.uniform(1.5, 3.2), max_r)
    trunk_w = rng.uniform(0.2, 0.4)
    trunk_col = _jitter(rng, (0.30, 0.24, 0.18), 0.12)
    scene.add_thing(
        z, 'vegetation',
        _front_rect(cam, xc - trunk_w / 2, xc + trunk_w / 2, 0.0,
                    trunk_h + r * 0.5, z),
        _flat_painter(ctx, trunk_col, fine=0.08, streak=0.1))
    crown = _blob(cam, xc, trunk_h + r * 0.85, z - 0.01, r,
                  r * rng.uniform(0.8, 1.2), rng)
    scene.add_thing(z - 0.01, 'vegetation', crown,
                    _vegetation_painter(ctx, rng))


def _add_pole(scene: _Scene, xc: float, z: float, what: str) -> None:
    """A pole with a street lamp, traffic sign(s) or traffic light."""
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    px = cam.scale(z)
    height = {
        'lamp': rng.uniform(6, 9),
        'sign': rng.uniform(2.6, 3.6),
        'light': rng.uniform(3.6, 5.0)
    }[what]
    width = rng.uniform(0.12, 0.22)
    u = float(cam.project(xc, 0.0, z)[0])
    # at least two pixels wide, so that it survives rounding
    left = round(u - width * px / 2)
    right = max(round(u + width * px / 2), left + 1)
    top = float(cam.project(xc, height, z)[1])
    bottom = cam.ground_row(z)
    col = _jitter(rng, (0.45, 0.46, 0.47), 0.15)
    rect = np.array([(left, bottom), (right, bottom), (right, top),
                     (left, top)])
    scene.add_thing(z, 'pole', rect, _pole_painter(ctx, col))
    toward_road = -np.sign(xc) if xc != 0 else 1.0
    if what == 'lamp':
        arm = _front_rect(cam, xc, xc + toward_road * 1.6, height - 0.12,
                          height, z)
        scene.add_thing(z, 'pole', arm, _pole_painter(ctx, col))
    elif what == 'sign':
        for k in range(1 if rng.random() < 0.7 else 2):
            _add_sign(scene, xc, height - 0.35 - 0.8 * k, z - 0.02)
    else:
        lw, lh = 0.32, 0.95
        y1 = height - 0.1
        box = _front_rect(cam, xc - lw / 2, xc + lw / 2, y1 - lh, y1, z - 0.02)
        scene.add_thing(
            z - 0.02, 'traffic light', box,
            _traffic_light_painter(ctx, rng, xc, y1, lh, lw, z - 0.02))
        if rng.random() < 0.5:
            # a mast arm over the road with a second light
            arm_len = rng.uniform(3.0, 5.5)
            xa = xc + toward_road * arm_len
            arm = _front_rect(cam, xc, xa, height + 0.8, height + 1.0, z)
            scene.add_thing(z, 'pole', arm, _pole_painter(ctx, col))
            box = _front_rect(cam, xa - lw / 2, xa + lw / 2, height + 0.8 - lh,
                              height + 0.8, z - 0.02)
            scene.add_thing(
                z - 0.02, 'traffic light', box,
                _traffic_light_painter(ctx, rng, xa, height + 0.8, lh, lw,
                                       z - 0.02))


def _traffic_light_painter(ctx: _Context, rng: np.random.Generator, xc: float,
                           y_top: float, lh: float, lw: float,
                           z: float) -> Painter:
    cam = ctx.cam
    on = rng.integers(3)
    lamps = []
    for k, c in enumerate(
        ((0.95, 0.15, 0.1), (0.95, 0.7, 0.1), (0.2, 0.9, 0.4))):
        yc = y_top - lh * (k + 0.5) / 3
        r = lw * 0.33
        col = c if k == on else tuple(np.asarray(c) * 0.25)
        ang = np.linspace(0, 2 * np.pi, 10, endpoint=False)
        lamps.append((cam.project(xc + r * np.cos(ang), yc + r * np.sin(ang),
                                  z), col))
    body = _jitter(rng, (0.12, 0.12, 0.12), 0.2)
    return _shapes_painter(ctx, body, lamps, fine=0.04)


def _add_sign(scene: _Scene, xc: float, yc: float, z: float) -> None:
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    kind = rng.integers(4)
    s = rng.uniform(0.6, 0.9)
    if kind == 0:  # round
        ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        shape = np.stack([np.cos(ang), np.sin(ang)], 1) * s / 2
        base, inner = ((0.8, 0.1, 0.1), (0.95, 0.95, 0.95)) \
            if rng.random() < 0.6 else ((0.1, 0.3, 0.7), (0.15, 0.35, 0.8))
    elif kind == 1:  # triangle
        shape = np.array([(-0.5, -0.29), (0.5, -0.29), (0.0, 0.58)]) * s
        base, inner = (0.8, 0.1, 0.1), (0.95, 0.95, 0.95)
    elif kind == 2:  # rectangle
        shape = np.array([(-0.5, -0.35), (0.5, -0.35), (0.5, 0.35),
                          (-0.5, 0.35)]) * s
        base, inner = (0.95, 0.95, 0.95), (0.1, 0.3, 0.7)
    else:  # diamond
        shape = np.array([(0, -0.5), (0.5, 0), (0, 0.5), (-0.5, 0)]) * s
        base, inner = (0.95, 0.95, 0.95), (0.95, 0.8, 0.1)
    pts = cam.project(xc + shape[:, 0], yc + shape[:, 1], z)
    inner_pts = pts.mean(0) + (pts - pts.mean(0)) * 0.72
    scene.add_thing(
        z, 'traffic sign', pts,
        _shapes_painter(ctx, base, [(inner_pts, inner)], fine=0.03))


def _add_side(scene: _Scene, side: int, edge_x: float, z_end: float,
              walk_w: float, urban: float, shade: float) -> float:
    """Sidewalk, buildings, walls, fences, terrain and trees on one side.

    Args:
        side (int): -1 for the left side of the street, 1 for the right.
        edge_x (float): Lateral position of the kerb.
        z_end (float): Depth where the street ends.
        walk_w (float): Sidewalk width in metres.
        urban (float): Probability of a building along each segment.
        shade (float): Brightness of this side (sun / shadow).

    Returns:
        float: Lateral position of the sidewalk's outer edge.
    """
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    outer = edge_x + side * walk_w
    kerb_h = 0.15
    walk_col = _jitter(rng, ((0.62, 0.60, 0.58), (0.60, 0.50, 0.46),
                             (0.70, 0.66, 0.58))[rng.integers(3)], 0.1)
    walk_col = tuple(np.asarray(walk_col) * (0.9 + 0.1 * shade))
    tiles = _sidewalk_painter(ctx, rng, walk_col)
    kerb = _facade(cam, edge_x, 1.0, z_end, 0.0, kerb_h, n=16)
    kerb_col = tuple(np.clip(np.asarray(walk_col) * 1.2, 0, 1).tolist())

    def paint_walk(layer, x0, y0):
        tiles(layer, x0, y0)
        _fill_poly(layer, kerb, x0, y0, kerb_col)

    scene.add('sidewalk',
              _ground_strip(cam, edge_x, outer, 1.0, z_end, 0.0, kerb_h, n=16),
              paint_walk)

    # Segments along the street, drawn far to near.
    segments = []
    z = rng.uniform(1.5, 4.0)
    while z < z_end:
        length = rng.uniform(8, 26) * max(1.0, z / 40)
        segments.append((z, min(z + length, z_end)))
        z += length
    for z0, z1 in segments[::-1]:
        r = rng.random()
        if r < urban:
            backdrop = 'building'
        elif r < urban + (1 - urban) * 0.6:
            backdrop = 'vegetation'
        else:
            backdrop = 'open'
        front = rng.choice(['none', 'hedge', 'wall', 'fence'],
                           p=[0.5, 0.15, 0.18, 0.17])
        setback = 0.0
        if backdrop != 'building' or front != 'none':
            setback = rng.uniform(2.0, 8.0)
        if backdrop == 'open':
            setback = 40.0
        if setback > 0:
            strip = _ground_strip(
                cam,
                outer,
                outer + side * setback,
                z0,
                z1,
                kerb_h,
                kerb_h,
                n=6)
            scene.add('terrain', strip, _terrain_painter(ctx, rng))
        back_x = outer + side * setback
        if backdrop == 'building':
            height = rng.uniform(6, 18)
            color = _jitter(
                rng, BUILDING_COLORS[rng.integers(len(BUILDING_COLORS))], 0.08)
            color = tuple(np.asarray(color) * shade)
            wins = _building_windows(
                cam, rng, height, shade, plane_x=back_x, z0=z0, z1=z1)
            # the near end wall facing the camera
            depth = rng.uniform(10, 16)
            end_wall = _front_rect(cam, back_x, back_x + side * depth, 0.0,
                                   height, z0)
            end_col = tuple(np.asarray(color) * 0.85)
            if z0 > 6:
                wins_end = _building_windows(
                    cam,
                    rng,
                    height,
                    shade * 0.85,
                    front_z=z0,
                    fx0=back_x,
                    fx1=back_x + side * depth)
                scene.add('building', end_wall,
                          _building_painter(ctx, wins_end, end_col))
            scene.add('building', _facade(cam, back_x, z0, z1, 0.0, height),
                      _building_painter(ctx, wins, color))
        elif backdrop == 'vegetation':
            n = 10
            top = rng.uniform(3, 9) + rng.uniform(0.5, 2.0) * \
                rng.standard_normal(n).clip(-2, 2)
            scene.add('vegetation',
                      _facade(cam, back_x, z0, z1, kerb_h, top.clip(1.5), n=n),
                      _vegetation_painter(ctx, rng, shade))
        if front == 'hedge':
            n = 8
            top = rng.uniform(0.9, 1.8) + 0.15 * rng.standard_normal(n)
            scene.add(
                'vegetation',
                _facade(cam, outer + side * 0.4, z0, z1, kerb_h, top, n=n),
                _vegetation_painter(ctx, rng, shade))
        elif front == 'wall':
            top = rng.uniform(1.0, 2.8)
            col = _jitter(rng, (0.66, 0.64, 0.60), 0.1)
            cap = _facade(cam, outer + side * 0.2, z0, z1, top - 0.12, top)
            scene.add(
                'wall', _facade(cam, outer + side * 0.2, z0, z1, kerb_h, top),
                _shapes_painter(
                    ctx,
                    tuple(np.asarray(col) * shade),
                    [(cap, tuple(np.asarray(col) * 0.8))],
                    fine=0.06,
                    small=0.06,
                    coarse=0.08))
        elif front == 'fence':
            top = rng.uniform(1.0, 2.0)
            scene.add('fence',
                      _facade(cam, outer + side * 0.2, z0, z1, kerb_h, top),
                      _fence_painter(ctx, rng, shade))
    # trees along the kerb
    if rng.random() < 0.55:
        z = rng.uniform(5, 12)
        spacing = rng.uniform(7, 14)
        while z < min(z_end, 120):
            _add_tree(
                scene,
                edge_x + side * min(0.9, walk_w / 2),
                z,
                max_r=walk_w + 2.0)
            z += spacing * rng.uniform(0.8, 1.2)
    return outer


def _fence_painter(ctx: _Context, rng: np.random.Generator,
                   shade: float) -> Painter:
    behind = _jitter(rng, (0.30, 0.33, 0.25), 0.2)
    metal = tuple(np.asarray(_jitter(rng, (0.55, 0.56, 0.55), 0.15)) * shade)
    period = max(3, int(round(ctx.cam.width / 128)))

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        _textured(layer, ctx, x0, y0, behind, fine=0.1, mid=0.2)
        yy, xx = np.mgrid[y0:y0 + h, x0:x0 + w]
        mesh = ((xx + yy) % period == 0) | ((xx - yy) % period == 0)
        layer[mesh] = metal

    return paint


def _end_block(scene: _Scene, z: float, kind: str) -> None:
    """Buildings or trees across the far end of the street."""
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    w = cam.width
    base = cam.ground_row(z) + 1
    px = cam.scale(z)
    xs = [-1.0]
    while xs[-1] < w:
        xs.append(xs[-1] + rng.uniform(4, 20) * px)
    if kind == 'building':
        top = [
            cam.horizon - px * (rng.uniform(4, 16) - cam.cam_h)
            for _ in xs[:-1]
        ]
        pts = [(xs[0], base)]
        for a, b, t in zip(xs[:-1], xs[1:], top):
            pts += [(a, t), (b, t)]
        pts.append((xs[-1], base))
        wins = []
        for a, b, t in zip(xs[:-1], xs[1:], top):
            color = _jitter(
                rng, BUILDING_COLORS[rng.integers(len(BUILDING_COLORS))], 0.08)
            wins.append(([np.array([(a, t), (b, t), (b, base),
                                    (a, base)])], color))
            # back from pixels to world x on the plane at depth z
            fx0 = (a - cam.center_x) / px - cam.bend * z * z
            fx1 = (b - cam.center_x) / px - cam.bend * z * z
            wins += _building_windows(
                cam, rng, (base - t) / px, 0.9, front_z=z, fx0=fx0, fx1=fx1)
        scene.add('building', np.asarray(pts),
                  _building_painter(ctx, wins, (0.6, 0.6, 0.6)))
    else:
        n = len(xs)
        top = cam.horizon - px * (rng.uniform(5, 14) - cam.cam_h) \
            + px * 1.5 * rng.standard_normal(n)
        pts = [(xs[0], base)] + list(zip(xs, top)) + [(xs[-1], base)]
        scene.add('vegetation', np.asarray(pts),
                  _vegetation_painter(ctx, rng, 0.9))


def _build_scene(width: int, height: int,
                 rng: np.random.Generator) -> Tuple[List[_Object], Dict]:
    """Build the labelled polygons of one street scene.

    Returns:
        tuple: The objects in drawing order and the global look (lighting)
        parameters of the image.
    """
    cam = _Camera(width, height, rng)
    ctx = _Context(cam, rng)
    scene = _Scene(cam, ctx, rng)

    # the street
    lane_w = rng.uniform(3.0, 3.6)
    park_r = rng.random() < 0.4
    park_l = rng.random() < 0.4
    edge_r = lane_w / 2 + rng.uniform(0.1, 0.6) + (2.2 if park_r else 0)
    n_left = int(rng.choice([0, 1, 1, 2, 3]))
    edge_l = -lane_w / 2 - n_left * lane_w - rng.uniform(
        0.1, 0.6) - (2.2 if park_l else 0)
    two_way = n_left > 0 and rng.random() < 0.75
    closed = rng.random() < 0.45
    z_end = rng.uniform(60, 160) if closed else rng.uniform(180, 320)
    urban = rng.uniform(0.35, 0.95)
    sun = rng.uniform(0.7, 1.0)
    shade_l, shade_r = (1.0, sun) if rng.random() < 0.5 else (sun, 1.0)
    junction = rng.random() < 0.7
    z_junction = rng.uniform(14, 40)

    # background layers, far to near
    horizon_row = cam.horizon
    scene.add(
        'sky',
        np.array([(0, 0), (width - 1, 0), (width - 1, horizon_row + 2),
                  (0, horizon_row + 2)]), _sky_painter(ctx, rng))
    scene.add(
        'terrain',
        np.array([(0, horizon_row), (width - 1, horizon_row),
                  (width - 1, height - 1), (0, height - 1)]),
        _terrain_painter(ctx, rng))
    _end_block(scene, z_end,
               'building' if rng.random() < urban else 'vegetation')

    marks = []
    # lane markings: dashed between lanes, solid at the kerb if no parking
    dash, gap = rng.uniform(2.5, 4.0), rng.uniform(5.0, 9.0)
    mark_w = 0.12
    offset = rng.uniform(0, dash + gap)
    for k in range(n_left):
        xb = -lane_w / 2 - k * lane_w
        solid = two_way and k == 0 and rng.random() < 0.3
        z = 2.0 + (0 if solid else offset)
        while z < z_end:
            z_b = min(z_end, z + (z_end if solid else dash))
            if not (junction and z_junction - 3 < z < z_junction + 3):
                marks.append(
                    _ground_strip(
                        cam, xb - mark_w / 2, xb + mark_w / 2, z, z_b, n=4))
            z += dash + gap
    for edge, parked in ((edge_l, park_l), (edge_r, park_r)):
        xb = edge + np.sign(-edge) * (2.2 if parked else 0.3)
        marks.append(
            _ground_strip(
                cam, xb - mark_w / 2, xb + mark_w / 2, 2.0, z_end, n=12))
    if junction:
        for xs in np.arange(edge_l + 0.5, edge_r - 0.5, 1.0):
            marks.append(
                _ground_strip(
                    cam, xs, xs + 0.5, z_junction - 2.0, z_junction + 2.0,
                    n=2))
    scene.add('road', _ground_strip(cam, edge_l, edge_r, 1.0, z_end, n=16),
              _road_painter(ctx, rng, marks))

    walk_l = rng.uniform(1.8, 4.5)
    walk_r = rng.uniform(1.8, 4.5)
    # the far side first: no overlap, but keep a fixed order
    _add_side(scene, -1, edge_l, z_end, walk_l, urban, shade_l)
    _add_side(scene, 1, edge_r, z_end, walk_r, urban, shade_r)

    # street furniture
    z_max = min(z_end, 90.0)
    for side, edge, walk in ((-1, edge_l, walk_l), (1, edge_r, walk_r)):
        x_pole = edge + side * rng.uniform(0.3, 0.6)
        z = rng.uniform(6, 20)
        while z < z_max:
            what = 'lamp' if rng.random() < 0.55 else (
                'sign' if rng.random() < 0.75 else 'light')
            _add_pole(scene, x_pole, z, what)
            z += rng.uniform(12, 30)
        if junction:
            _add_pole(scene, edge + side * 0.5, z_junction + 2.5, 'light')
        if rng.random() < 0.5:
            _add_pole(scene, edge + side * rng.uniform(0.3, 0.7),
                      rng.uniform(8, 30), 'sign')

    # parked cars
    for side, edge, parked in ((-1, edge_l, park_l), (1, edge_r, park_r)):
        if not parked:
            continue
        z = rng.uniform(5, 9)
        x = edge - side * 1.1
        while z < min(z_max, 70):
            if rng.random() < 0.8:
                _add_vehicle(scene, 'car', x, z, oncoming=False)
            z += rng.uniform(5.0, 7.5)

    # moving traffic
    lanes = [0.0] + [-lane_w * k for k in range(1, n_left + 1)]
    for lane in lanes:
        oncoming = two_way and lane < -lane_w / 2
        z = rng.uniform(9, 25)
        while z < min(z_max, 80):
            r = rng.random()
            if r < 0.1 and z > 14:
                kind = 'bus'
            elif r < 0.2 and z > 14:
                kind = 'truck'
            else:
                kind = 'car'
            if rng.random() < 0.65:
                _add_vehicle(scene, kind, lane + rng.uniform(-0.3, 0.3), z,
                             oncoming)
            z += rng.uniform(10, 25)
    if rng.random() < 0.4:
        x = edge_r - (2.7 if park_r else 0.8)
        _add_cyclist(scene, x, rng.uniform(8, 35))

    # pedestrians
    for side, edge, walk in ((-1, edge_l, walk_l), (1, edge_r, walk_r)):
        for _ in range(int(rng.integers(0, 6))):
            x = edge + side * rng.uniform(0.5, max(walk - 0.4, 0.6))
            _add_person(scene, x, rng.uniform(5, 45))
    if junction:
        for _ in range(int(rng.integers(0, 4))):
            _add_person(scene, rng.uniform(edge_l + 0.5, edge_r - 0.5),
                        z_junction + rng.uniform(-1.5, 1.5))

    # the ego vehicle's bonnet
    if rng.random() < 0.5:
        hood = rng.uniform(0.04, 0.08) * height
        xs = np.linspace(0, width - 1, 17)
        t = (xs - cam.center_x) / (width / 2)
        ys = height - 1 - hood * (1 - 0.6 * t**2)
        pts = np.concatenate([[(0, height - 1)],
                              np.stack([xs, ys], 1),
                              [(width - 1, height - 1)]])
        col = _jitter(rng, CAR_COLORS[rng.integers(len(CAR_COLORS))], 0.05)
        scene.add_front('ego vehicle', pts,
                        _flat_painter(ctx, col, fine=0.02, coarse=0.15))

    look = dict(
        gain=rng.uniform(0.65, 1.2),
        tint=rng.uniform(0.92, 1.08, 3),
        gamma=rng.uniform(0.8, 1.25),
        noise=rng.uniform(0.005, 0.02),
        blur=rng.random() < 0.5,
        vignette=rng.uniform(0.0, 0.35),
    )
    return scene.objects(), look


def _render_rgb(objects: List[_Object], look: Dict, width: int, height: int,
                rng: np.random.Generator) -> np.ndarray:
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


# ---------------------------------------------------------------------------
# Writing the dataset
# ---------------------------------------------------------------------------
def _write_png(path: str, img: np.ndarray) -> None:
    if not cv2.imwrite(path, img, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f'could not write {path}')


def _generate_sample(task: Dict) -> Dict:
    """Generate and write one image with its annotations.

    Args:
        task (dict): ``out_dir``, ``split``, ``city``, ``stem``, ``width``,
            ``height`` and ``seed`` (a list of ints for
            :func:`numpy.random.default_rng`).

    Returns:
        dict: ``split``, ``stem`` and ``label_ids``, the sorted label ids
        present in the label image.
    """
    rng = np.random.default_rng(task['seed'])
    width, height = task['width'], task['height']
    objects, look = _build_scene(width, height, rng)
    img = _render_rgb(objects, look, width, height, rng)

    city, stem, split = task['city'], task['stem'], task['split']
    img_dir = osp.join(task['out_dir'], 'leftImg8bit', split, city)
    gt_dir = osp.join(task['out_dir'], 'gtFine', split, city)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(gt_dir, exist_ok=True)
    _write_png(osp.join(img_dir, f'{stem}_leftImg8bit.png'), img)

    gt = osp.join(gt_dir, f'{stem}_gtFine_')
    annotation = {
        'imgHeight': height,
        'imgWidth': width,
        'objects': [{
            'label': o.label,
            'polygon': o.polygon
        } for o in objects],
    }
    with open(gt + 'polygons.json', 'w') as f:
        json.dump(annotation, f, indent=4)
        f.write('\n')
    # The label images are rendered from the JSON by cityscapesscripts.
    json2labelImg(gt + 'polygons.json', gt + 'labelIds.png', 'ids')
    json2labelImg(gt + 'polygons.json', gt + 'color.png', 'color')
    # json2instanceImg saves a 32 bit PIL image, which recent Pillow cannot
    # write as PNG: render with cityscapesscripts, save as 16 bit like the
    # official instanceIds files.
    cs_annotation = Annotation()
    cs_annotation.fromJsonFile(gt + 'polygons.json')
    instances = np.asarray(createInstanceImage(cs_annotation, 'ids'))
    _write_png(gt + 'instanceIds.png', instances.astype(np.uint16))

    label_ids = np.unique(np.asarray(Image.open(gt + 'labelIds.png')))
    return dict(
        split=split, stem=f'{city}/{stem}', label_ids=label_ids.tolist())


def _make_importable() -> None:
    """Let worker processes find :func:`_generate_sample` by module name.

    When this file is loaded with ``importlib.util.spec_from_file_location``
    and not added to ``sys.modules``, pickling the task function for the
    worker pool fails; register the module's namespace under its name.
    """
    module = sys.modules.get(__name__)
    if getattr(module, '_generate_sample', None) is not _generate_sample:
        shim = types.ModuleType(__name__)
        shim.__dict__.update(globals())
        sys.modules[__name__] = shim


def _run(tasks: List[Dict], nproc: int, verbose: bool) -> List[Dict]:
    """Generate all samples, in parallel if ``nproc > 1``, with a progress
    bar if ``verbose``."""
    if nproc > 1 and len(tasks) > 1:
        from mmengine.utils import track_parallel_progress
        _make_importable()
        with open(os.devnull, 'w') as devnull:
            return track_parallel_progress(
                _generate_sample,
                tasks,
                min(nproc, len(tasks)),
                file=sys.stdout if verbose else devnull)
    if verbose:
        from mmengine.utils import track_progress
        return track_progress(_generate_sample, tasks)
    return [_generate_sample(t) for t in tasks]


def _prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    """Create ``out_dir``, or clear what a previous run wrote there."""
    # 'new/..' must be checked as the existing folder it resolves to
    out_dir = osp.abspath(out_dir)
    if osp.isfile(out_dir):
        raise FileExistsError(f'{out_dir} is a file, not a folder: choose '
                              'another output folder.')
    if osp.isdir(out_dir) and os.listdir(out_dir):
        ours = osp.isfile(osp.join(out_dir, MARKER_FILE))
        if not (ours or overwrite):
            raise FileExistsError(
                f'{out_dir} is not empty and is not a synthetic Cityscapes '
                f'folder (no {MARKER_FILE}): choose an empty or new folder, '
                'or pass --overwrite to replace its leftImg8bit/ and gtFine/.')
        for name in GENERATED_ITEMS:
            path = osp.join(out_dir, name)
            if osp.isdir(path):
                shutil.rmtree(path)
            elif osp.exists(path):
                os.remove(path)
    os.makedirs(out_dir, exist_ok=True)


def _city_of(index: int, num: int, cities: Sequence[str]) -> str:
    """Split ``num`` images into consecutive blocks, one per city."""
    used = min(len(cities), num)
    return cities[index * used // num]


def make_synthetic_cityscapes(out_dir: str,
                              num_train: int = 24,
                              num_val: int = 8,
                              width: int = 512,
                              height: int = 256,
                              seed: int = 0,
                              nproc: int = 1,
                              overwrite: bool = False,
                              verbose: bool = False) -> Dict:
    """Generate a synthetic dataset in the official Cityscapes layout.

    Args:
        out_dir (str): Output folder. It must be empty, new, or the output of
            a previous run (which is replaced), unless ``overwrite``.
        num_train (int): Number of training images. Defaults to 24.
        num_val (int): Number of validation images. Defaults to 8.
        width (int): Image width. Defaults to 512.
        height (int): Image height. Defaults to 256.
        seed (int): Random seed; the same arguments give identical files.
            Defaults to 0.
        nproc (int): Number of worker processes. Defaults to 1.
        overwrite (bool): Replace ``leftImg8bit/`` and ``gtFine/`` of a
            non-empty folder that is not a previous output. Defaults to False.
        verbose (bool): Print a progress bar. Defaults to False.

    Returns:
        dict: ``out_dir``; ``samples``, ``{split: [city/stem, ...]}``;
        ``num_files``; ``label_ids``, ``{split: {stem: [label ids]}}`` present
        in each label image; ``train_id_images``, ``{trainId: number of
        images containing it}``.

    Raises:
        ValueError: If a size or count is out of range.
        FileExistsError: If ``out_dir`` holds other data.
    """
    if num_train < 0 or num_val < 0 or num_train + num_val == 0:
        raise ValueError('num_train and num_val must be >= 0 and not both 0, '
                         f'got {num_train} and {num_val}.')
    if width < 32 or height < 16:
        raise ValueError(
            f'the image size must be at least 32x16, got {width}x{height}.')
    if nproc < 1:
        raise ValueError(f'nproc must be >= 1, got {nproc}.')
    _prepare_out_dir(out_dir, overwrite)

    tasks = []
    for split_idx, (split, num) in enumerate(
        (('train', num_train), ('val', num_val))):
        counters: Dict[str, int] = {}
        for i in range(num):
            city = _city_of(i, num, SPLIT_CITIES[split])
            seq = counters.get(city, 0)
            counters[city] = seq + 1
            tasks.append(
                dict(
                    out_dir=out_dir,
                    split=split,
                    city=city,
                    stem=f'{city}_{seq:06d}_{FRAME_ID:06d}',
                    width=width,
                    height=height,
                    seed=[seed, split_idx, i]))

    results = _run(tasks, nproc, verbose)

    samples: Dict[str, List[str]] = {'train': [], 'val': []}
    label_ids: Dict[str, Dict[str, List[int]]] = {'train': {}, 'val': {}}
    train_id_images: Dict[int, int] = {}
    for res in results:
        samples[res['split']].append(res['stem'])
        label_ids[res['split']][res['stem']] = res['label_ids']
        for train_id in {id2label[i].trainId for i in res['label_ids']}:
            if 0 <= train_id < 255:
                train_id_images[train_id] = train_id_images.get(train_id,
                                                                0) + 1
    meta = dict(
        generator='tools/dataset_converters/make_synthetic_cityscapes.py',
        version=GENERATOR_VERSION,
        num_train=num_train,
        num_val=num_val,
        width=width,
        height=height,
        seed=seed)
    with open(osp.join(out_dir, MARKER_FILE), 'w') as f:
        json.dump(meta, f, indent=4)
        f.write('\n')
    return dict(
        out_dir=out_dir,
        samples=samples,
        num_files=5 * len(results) + 1,
        label_ids=label_ids,
        train_id_images=dict(sorted(train_id_images.items())))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate a small synthetic street-scene dataset in the '
        'official Cityscapes layout (leftImg8bit/ and gtFine/ with polygon '
        'JSON, labelIds, instanceIds and color PNGs).')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument(
        '--num-train', type=int, default=24, help='training images')
    parser.add_argument(
        '--num-val', type=int, default=8, help='validation images')
    parser.add_argument('--width', type=int, default=512, help='image width')
    parser.add_argument('--height', type=int, default=256, help='image height')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--nproc', type=int, default=1, help='number of worker processes')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace leftImg8bit/ and gtFine/ in a non-empty folder that is '
        'not the output of a previous run')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    start = time.time()
    try:
        result = make_synthetic_cityscapes(
            args.out_dir,
            num_train=args.num_train,
            num_val=args.num_val,
            width=args.width,
            height=args.height,
            seed=args.seed,
            nproc=args.nproc,
            overwrite=args.overwrite,
            verbose=True)
    except (ValueError, FileExistsError) as err:
        raise SystemExit(f'make_synthetic_cityscapes.py: error: {err}')
    out = args.out_dir
    for split, stems in result['samples'].items():
        cities = sorted({s.split('/')[0] for s in stems})
        print(f'{split}: {len(stems)} images of {args.width}x{args.height} '
              f'from {", ".join(cities) or "-"}')
        print(f'  {osp.join(out, "leftImg8bit", split)}/<city>/'
              '*_leftImg8bit.png')
        print(f'  {osp.join(out, "gtFine", split)}/<city>/*_gtFine_'
              '{polygons.json,labelIds.png,instanceIds.png,color.png}')
    counts = result['train_id_images']
    names = {lbl.trainId: lbl.name for lbl in id2label.values()}
    total = sum(len(s) for s in result['samples'].values())
    print(f'classes (images containing them, of {total}): ' +
          ', '.join(f'{names[k]} {v}' for k, v in counts.items()))
    print(f'wrote {result["num_files"]} files to {out} in '
          f'{time.time() - start:.1f} s; next: python '
          f'tools/dataset_converters/cityscapes.py {out}')


if __name__ == '__main__':
    main()
