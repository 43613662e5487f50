"""Scene layout: the street, its two sides and its far end, and the whole
scene of one image (:func:`build_scene`)."""
from typing import Dict, List, Optional, Tuple

import numpy as np

from .drawing import Groups, fill_poly
from .geometry import Camera, facade, front_rect, ground_strip
from .painters import (building_painter, fence_painter, flat_painter,
                       road_painter, shapes_painter, sidewalk_painter,
                       sky_painter, terrain_painter, vegetation_painter)
from .scene import Scene, SceneObject
from .textures import BUILDING_COLORS, CAR_COLORS, TextureContext, jitter
from .things import add_cyclist, add_person, add_pole, add_tree, add_vehicle


def building_windows(cam: Camera,
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
        (np.asarray(jitter(rng, (0.85, 0.85, 0.82), 0.1)) * shade).tolist())
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


def add_side(scene: Scene, side: int, edge_x: float, z_end: float,
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
    walk_col = jitter(rng, ((0.62, 0.60, 0.58), (0.60, 0.50, 0.46),
                            (0.70, 0.66, 0.58))[rng.integers(3)], 0.1)
    walk_col = tuple(np.asarray(walk_col) * (0.9 + 0.1 * shade))
    tiles = sidewalk_painter(ctx, rng, walk_col)
    kerb = facade(cam, edge_x, 1.0, z_end, 0.0, kerb_h, n=16)
    kerb_col = tuple(np.clip(np.asarray(walk_col) * 1.2, 0, 1).tolist())

    def paint_walk(layer, x0, y0):
        tiles(layer, x0, y0)
        fill_poly(layer, kerb, x0, y0, kerb_col)

    scene.add('sidewalk',
              ground_strip(cam, edge_x, outer, 1.0, z_end, 0.0, kerb_h, n=16),
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
            strip = ground_strip(
                cam,
                outer,
                outer + side * setback,
                z0,
                z1,
                kerb_h,
                kerb_h,
                n=6)
            scene.add('terrain', strip, terrain_painter(ctx, rng))
        back_x = outer + side * setback
        if backdrop == 'building':
            height = rng.uniform(6, 18)
            color = jitter(rng,
                           BUILDING_COLORS[rng.integers(len(BUILDING_COLORS))],
                           0.08)
            color = tuple(np.asarray(color) * shade)
            wins = building_windows(
                cam, rng, height, shade, plane_x=back_x, z0=z0, z1=z1)
            # the near end wall facing the camera
            depth = rng.uniform(10, 16)
            end_wall = front_rect(cam, back_x, back_x + side * depth, 0.0,
                                  height, z0)
            end_col = tuple(np.asarray(color) * 0.85)
            if z0 > 6:
                wins_end = building_windows(
                    cam,
                    rng,
                    height,
                    shade * 0.85,
                    front_z=z0,
                    fx0=back_x,
                    fx1=back_x + side * depth)
                scene.add('building', end_wall,
                          building_painter(ctx, wins_end, end_col))
            scene.add('building', facade(cam, back_x, z0, z1, 0.0, height),
                      building_painter(ctx, wins, color))
        elif backdrop == 'vegetation':
            n = 10
            top = rng.uniform(3, 9) + rng.uniform(0.5, 2.0) * \
                rng.standard_normal(n).clip(-2, 2)
            scene.add('vegetation',
                      facade(cam, back_x, z0, z1, kerb_h, top.clip(1.5), n=n),
                      vegetation_painter(ctx, rng, shade))
        if front == 'hedge':
            n = 8
            top = rng.uniform(0.9, 1.8) + 0.15 * rng.standard_normal(n)
            scene.add(
                'vegetation',
                facade(cam, outer + side * 0.4, z0, z1, kerb_h, top, n=n),
                vegetation_painter(ctx, rng, shade))
        elif front == 'wall':
            top = rng.uniform(1.0, 2.8)
            col = jitter(rng, (0.66, 0.64, 0.60), 0.1)
            cap = facade(cam, outer + side * 0.2, z0, z1, top - 0.12, top)
            scene.add(
                'wall', facade(cam, outer + side * 0.2, z0, z1, kerb_h, top),
                shapes_painter(
                    ctx,
                    tuple(np.asarray(col) * shade),
                    [(cap, tuple(np.asarray(col) * 0.8))],
                    fine=0.06,
                    small=0.06,
                    coarse=0.08))
        elif front == 'fence':
            top = rng.uniform(1.0, 2.0)
            scene.add('fence',
                      facade(cam, outer + side * 0.2, z0, z1, kerb_h, top),
                      fence_painter(ctx, rng, shade))
    # trees along the kerb
    if rng.random() < 0.55:
        z = rng.uniform(5, 12)
        spacing = rng.uniform(7, 14)
        while z < min(z_end, 120):
            add_tree(
                scene,
                edge_x + side * min(0.9, walk_w / 2),
                z,
                max_r=walk_w + 2.0)
            z += spacing * rng.uniform(0.8, 1.2)
    return outer


def add_end_block(scene: Scene, z: float, kind: str) -> None:
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
            color = jitter(rng,
                           BUILDING_COLORS[rng.integers(len(BUILDING_COLORS))],
                           0.08)
            wins.append(([np.array([(a, t), (b, t), (b, base),
                                    (a, base)])], color))
            # back from pixels to world x on the plane at depth z
            fx0 = (a - cam.center_x) / px - cam.bend * z * z
            fx1 = (b - cam.center_x) / px - cam.bend * z * z
            wins += building_windows(
                cam, rng, (base - t) / px, 0.9, front_z=z, fx0=fx0, fx1=fx1)
        scene.add('building', np.asarray(pts),
                  building_painter(ctx, wins, (0.6, 0.6, 0.6)))
    else:
        n = len(xs)
        top = cam.horizon - px * (rng.uniform(5, 14) - cam.cam_h) \
            + px * 1.5 * rng.standard_normal(n)
        pts = [(xs[0], base)] + list(zip(xs, top)) + [(xs[-1], base)]
        scene.add('vegetation', np.asarray(pts),
                  vegetation_painter(ctx, rng, 0.9))


def build_scene(width: int, height: int,
                rng: np.random.Generator) -> Tuple[List[SceneObject], Dict]:
    """Build the labelled polygons of one street scene.

    Returns:
        tuple: The objects in drawing order and the global look (lighting)
        parameters of the image.
    """
    cam = Camera(width, height, rng)
    ctx = TextureContext(cam, rng)
    scene = Scene(cam, ctx, rng)

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
                  (0, horizon_row + 2)]), sky_painter(ctx, rng))
    scene.add(
        'terrain',
        np.array([(0, horizon_row), (width - 1, horizon_row),
                  (width - 1, height - 1), (0, height - 1)]),
        terrain_painter(ctx, rng))
    add_end_block(scene, z_end,
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
                    ground_strip(
                        cam, xb - mark_w / 2, xb + mark_w / 2, z, z_b, n=4))
            z += dash + gap
    for edge, parked in ((edge_l, park_l), (edge_r, park_r)):
        xb = edge + np.sign(-edge) * (2.2 if parked else 0.3)
        marks.append(
            ground_strip(
                cam, xb - mark_w / 2, xb + mark_w / 2, 2.0, z_end, n=12))
    if junction:
        for xs in np.arange(edge_l + 0.5, edge_r - 0.5, 1.0):
            marks.append(
                ground_strip(
                    cam, xs, xs + 0.5, z_junction - 2.0, z_junction + 2.0,
                    n=2))
    scene.add('road', ground_strip(cam, edge_l, edge_r, 1.0, z_end, n=16),
              road_painter(ctx, rng, marks))

    walk_l = rng.uniform(1.8, 4.5)
    walk_r = rng.uniform(1.8, 4.5)
    # the far side first: no overlap, but keep a fixed order
    add_side(scene, -1, edge_l, z_end, walk_l, urban, shade_l)
    add_side(scene, 1, edge_r, z_end, walk_r, urban, shade_r)

    # street furniture
    z_max = min(z_end, 90.0)
    for side, edge, walk in ((-1, edge_l, walk_l), (1, edge_r, walk_r)):
        x_pole = edge + side * rng.uniform(0.3, 0.6)
        z = rng.uniform(6, 20)
        while z < z_max:
            what = 'lamp' if rng.random() < 0.55 else (
                'sign' if rng.random() < 0.75 else 'light')
            add_pole(scene, x_pole, z, what)
            z += rng.uniform(12, 30)
        if junction:
            add_pole(scene, edge + side * 0.5, z_junction + 2.5, 'light')
        if rng.random() < 0.5:
            add_pole(scene, edge + side * rng.uniform(0.3, 0.7),
                     rng.uniform(8, 30), 'sign')

    # parked cars
    for side, edge, parked in ((-1, edge_l, park_l), (1, edge_r, park_r)):
        if not parked:
            continue
        z = rng.uniform(5, 9)
        x = edge - side * 1.1
        while z < min(z_max, 70):
            if rng.random() < 0.8:
                add_vehicle(scene, 'car', x, z, oncoming=False)
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
                add_vehicle(scene, kind, lane + rng.uniform(-0.3, 0.3), z,
                            oncoming)
            z += rng.uniform(10, 25)
    if rng.random() < 0.4:
        x = edge_r - (2.7 if park_r else 0.8)
        add_cyclist(scene, x, rng.uniform(8, 35))

    # pedestrians
    for side, edge, walk in ((-1, edge_l, walk_l), (1, edge_r, walk_r)):
        for _ in range(int(rng.integers(0, 6))):
            x = edge + side * rng.uniform(0.5, max(walk - 0.4, 0.6))
            add_person(scene, x, rng.uniform(5, 45))
    if junction:
        for _ in range(int(rng.integers(0, 4))):
            add_person(scene, rng.uniform(edge_l + 0.5, edge_r - 0.5),
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
        col = jitter(rng, CAR_COLORS[rng.integers(len(CAR_COLORS))], 0.05)
        scene.add_front('ego vehicle', pts,
                        flat_painter(ctx, col, fine=0.02, coarse=0.15))

    look = dict(
        gain=rng.uniform(0.65, 1.2),
        tint=rng.uniform(0.92, 1.08, 3),
        gamma=rng.uniform(0.8, 1.25),
        noise=rng.uniform(0.005, 0.02),
        blur=rng.random() < 0.5,
        vignette=rng.uniform(0.0, 0.35),
    )
    return scene.objects(), look
