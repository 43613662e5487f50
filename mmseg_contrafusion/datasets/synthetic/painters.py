"""Painters: closures that texture one class of surface.

Each factory draws its random parameters when the scene is built and returns
a :data:`~.drawing.Painter`; the pixels are painted later, when the scene is
rendered, so the random draws happen in the same order either way.
"""
from typing import List, Tuple

import numpy as np

from .drawing import Color, Groups, Painter, Shapes, fill_poly, fill_polys
from .textures import (CLOTH_COLORS, ROAD_NOISE, SIDEWALK_NOISE, SKIN_COLORS,
                       TERRAIN_NOISE, WALL_NOISE, TextureContext, jitter,
                       textured)


def sky_painter(ctx: TextureContext, rng: np.random.Generator) -> Painter:
    """Clear or overcast sky: a vertical gradient with clouds."""
    overcast = rng.random() < 0.35
    if overcast:
        top = jitter(rng, (0.70, 0.72, 0.76))
        bottom = jitter(rng, (0.86, 0.87, 0.88))
    else:
        top = jitter(rng, (0.30, 0.50, 0.85))
        bottom = jitter(rng, (0.72, 0.82, 0.93))
    cloudiness = rng.uniform(0.0, 0.9)
    cloud = jitter(rng, (0.95, 0.95, 0.96), 0.04)
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


def terrain_painter(ctx: TextureContext, rng: np.random.Generator) -> Painter:
    """Grass or bare soil."""
    color = jitter(rng, (0.45, 0.52, 0.25) if rng.random() < 0.7 else
                   (0.55, 0.48, 0.32), 0.12)

    def paint(layer, x0, y0):
        textured(layer, ctx, x0, y0, color, **TERRAIN_NOISE)

    return paint


def vegetation_painter(ctx: TextureContext,
                       rng: np.random.Generator,
                       shade: float = 1.0) -> Painter:
    """Leaves: dark and light green mixed by noise, times ``shade``."""
    base = np.asarray(
        jitter(rng, ((0.16, 0.30, 0.08), (0.22, 0.34, 0.10),
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


def flat_painter(ctx: TextureContext, color: Color, **amps: float) -> Painter:
    """``color`` modulated by the noise fields named in ``amps``."""

    def paint(layer, x0, y0):
        textured(layer, ctx, x0, y0, color, **amps)

    return paint


def road_painter(ctx: TextureContext, rng: np.random.Generator,
                 marks: List[np.ndarray]) -> Painter:
    """Asphalt with the lane marking polygons ``marks`` painted on."""
    color = jitter(rng, (0.36, 0.36, 0.38), 0.15)
    paint_col = jitter(rng, (0.85, 0.85, 0.82), 0.05)

    def paint(layer, x0, y0):
        textured(layer, ctx, x0, y0, color, **ROAD_NOISE)
        for quad in marks:
            fill_poly(layer, quad, x0, y0, paint_col)

    return paint


def sidewalk_painter(ctx: TextureContext, rng: np.random.Generator,
                     color: Color) -> Painter:
    """Paving of ``color`` with tile joints in perspective."""
    cam = ctx.cam
    tile = rng.uniform(0.3, 0.8)

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        textured(layer, ctx, x0, y0, color, **SIDEWALK_NOISE)
        rows = np.arange(y0, y0 + h, dtype=np.float64) + 0.5
        below = rows > cam.horizon + 1
        z = np.full(h, 1e6)
        z[below] = cam.focal * cam.cam_h / (rows[below] - cam.horizon)
        px_per_tile = cam.focal * tile / z  # projected tile width
        phase = np.mod(z / tile, 1.0)
        joint = (phase < 0.12) & (px_per_tile > 3)
        layer[joint] *= 0.82

    return paint


def building_painter(ctx: TextureContext, groups: Groups,
                     color: Color) -> Painter:
    """Wall colour plus groups of same-coloured detail polygons."""

    def paint(layer, x0, y0):
        textured(layer, ctx, x0, y0, color, **WALL_NOISE)
        for polys, col in groups:
            fill_polys(layer, polys, x0, y0, col)

    return paint


def pole_painter(ctx: TextureContext, color: Color) -> Painter:
    """Metal of ``color``, shaded as a cylinder."""

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        textured(layer, ctx, x0, y0, color, fine=0.04)
        if w >= 3:
            t = np.linspace(-1, 1, w)
            layer *= (1.15 - 0.35 * t**2 - 0.1 * t)[None, :, None]

    return paint


def shapes_painter(ctx: TextureContext, base: Color, shapes: Shapes,
                   **amps: float) -> Painter:
    """Flat base colour plus a list of detail polygons."""

    def paint(layer, x0, y0):
        textured(layer, ctx, x0, y0, base, **amps)
        for pts, col in shapes:
            fill_poly(layer, pts, x0, y0, col)

    return paint


def person_painter(ctx: TextureContext, rng: np.random.Generator,
                   rows: Tuple[float, float, float]) -> Painter:
    """Clothes by image row: ``rows`` are the neck, hip and knee rows."""
    skin = jitter(rng, SKIN_COLORS[rng.integers(len(SKIN_COLORS))], 0.05)
    hair = jitter(rng, (0.12, 0.09, 0.07), 0.1)
    top = jitter(rng, CLOTH_COLORS[rng.integers(len(CLOTH_COLORS))])
    legs = jitter(rng, CLOTH_COLORS[rng.integers(len(CLOTH_COLORS))])
    long_coat = rng.random() < 0.25
    neck, hip, knee = rows

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        textured(layer, ctx, x0, y0, (1.0, 1.0, 1.0), fine=0.05)
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


def traffic_light_painter(ctx: TextureContext, rng: np.random.Generator,
                          xc: float, y_top: float, lh: float, lw: float,
                          z: float) -> Painter:
    """Light box with three lamps, one of them on.

    ``xc``, ``y_top``, ``lh`` (height), ``lw`` (width) and ``z`` place the box
    in world metres.
    """
    cam = ctx.cam
    on = rng.integers(3)
    lamps = []
    colours = ((0.95, 0.15, 0.1), (0.95, 0.7, 0.1), (0.2, 0.9, 0.4))
    for k, c in enumerate(colours):
        yc = y_top - lh * (k + 0.5) / 3
        r = lw * 0.33
        col = c if k == on else tuple(np.asarray(c) * 0.25)
        ang = np.linspace(0, 2 * np.pi, 10, endpoint=False)
        lamps.append((cam.project(xc + r * np.cos(ang), yc + r * np.sin(ang),
                                  z), col))
    body = jitter(rng, (0.12, 0.12, 0.12), 0.2)
    return shapes_painter(ctx, body, lamps, fine=0.04)


def fence_painter(ctx: TextureContext, rng: np.random.Generator,
                  shade: float) -> Painter:
    """Diagonal wire mesh in front of dark greenery."""
    behind = jitter(rng, (0.30, 0.33, 0.25), 0.2)
    metal = tuple(np.asarray(jitter(rng, (0.55, 0.56, 0.55), 0.15)) * shade)
    period = max(3, int(round(ctx.cam.width / 128)))

    def paint(layer, x0, y0):
        h, w = layer.shape[:2]
        textured(layer, ctx, x0, y0, behind, fine=0.1, mid=0.2)
        yy, xx = np.mgrid[y0:y0 + h, x0:x0 + w]
        mesh = ((xx + yy) % period == 0) | ((xx - yy) % period == 0)
        layer[mesh] = metal

    return paint
