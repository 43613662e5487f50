"""Things standing in the street: vehicles, persons, cyclists, trees, poles
with lamps, signs and traffic lights."""
from typing import Optional, Tuple

import cv2
import numpy as np

from .geometry import Camera, blob, front_rect
from .painters import (flat_painter, person_painter, pole_painter,
                       shapes_painter, traffic_light_painter,
                       vegetation_painter)
from .scene import Scene
from .textures import CAR_COLORS, jitter

PERSON_TEMPLATE = np.array([  # metres, for a 1.75 m tall person facing us
    (0.24, 1.45), (0.27, 1.15), (0.28, 0.82), (0.20, 0.80), (0.19, 1.20),
    (0.17, 0.95), (0.17, 0.0), (0.04, 0.0), (0.0, 0.80), (-0.04, 0.0),
    (-0.17, 0.0), (-0.17, 0.95), (-0.19, 1.20), (-0.20, 0.80), (-0.28, 0.82),
    (-0.27, 1.15), (-0.24, 1.45), (-0.07, 1.50)
])


def person_points(xc: float, z: float, height: float, width: float,
                  stride: float, base_y: float,
                  cam: Camera) -> Tuple[np.ndarray, Tuple[float, ...]]:
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


def add_vehicle(scene: Scene, kind: str, xc: float, z: float,
                oncoming: bool) -> None:
    """Add a car, bus or truck seen from behind (or the front if
    ``oncoming``), as the silhouette of its 3D box."""
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    if kind == 'car':
        w, length = rng.uniform(1.7, 1.95), rng.uniform(3.9, 4.9)
        h_body, h_top = rng.uniform(0.75, 0.95), rng.uniform(1.4, 1.65)
        color = jitter(rng, CAR_COLORS[rng.integers(len(CAR_COLORS))], 0.05)
        cabin = (0.42, 0.22, 0.72)  # half width, start and end along length
    elif kind == 'bus':
        w, length = 2.55, rng.uniform(11, 13)
        h_body = h_top = rng.uniform(3.0, 3.3)
        color = jitter(rng, ((0.85, 0.75, 0.15), (0.85, 0.85, 0.85),
                             (0.75, 0.15, 0.12))[rng.integers(3)], 0.05)
        cabin = None
    else:
        w, length = 2.5, rng.uniform(7, 10)
        h_body = h_top = rng.uniform(3.0, 3.8)
        color = jitter(rng, ((0.90, 0.90, 0.90), (0.45, 0.47, 0.50),
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
    glass = jitter(rng, (0.12, 0.14, 0.18), 0.1)
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
    shapes.append((front_rect(cam, x0 + 0.05, x1 - 0.05, 0.0, 0.35, z), dark))
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
        shapes.append((front_rect(cam, xc - 0.26, xc + 0.26, 0.38, 0.5,
                                  z), plate))
    else:
        if kind == 'bus':
            shapes.append((front_rect(cam, x0 + 0.15, x1 - 0.15, 1.3,
                                      h_top - 0.4, z), glass))
            shapes.append((front_rect(cam, x0 + 0.4, x1 - 0.4, h_top - 0.35,
                                      h_top - 0.12, z), (0.9, 0.55, 0.1)))
        else:
            shapes.append((front_rect(cam, xc - 0.02, xc + 0.02, 0.5,
                                      h_top - 0.1, z), dark))
        ly0, ly1 = 0.45, 0.75
    for sx in (-1, 1):
        a, b = xc + sx * (w / 2 - 0.08), xc + sx * (w / 2 - 0.35)
        shapes.append((front_rect(cam, a, b, ly0, ly1, z), lamp))
    painter = shapes_painter(
        ctx, tuple(np.asarray(color) * shade), shapes, fine=0.03, small=0.03)
    scene.add_thing(z, kind, hull, painter)


def add_person(scene: Scene,
               xc: float,
               z: float,
               label: str = 'person',
               base_y: float = 0.0,
               height: Optional[float] = None) -> None:
    """Add a pedestrian (or a ``rider``) standing at ``(xc, z)``."""
    cam, rng = scene.cam, scene.rng
    if height is None:
        height = rng.uniform(1.55, 1.95) if rng.random() < 0.9 else \
            rng.uniform(1.0, 1.35)
    stride = rng.uniform(0.0, 0.2) if label == 'person' else 0.05
    poly, rows = person_points(xc, z, height, rng.uniform(0.9, 1.25), stride,
                               base_y, cam)
    scene.add_thing(z, label, poly, person_painter(scene.ctx, rng, rows))


def add_cyclist(scene: Scene, xc: float, z: float) -> None:
    """Add a bicycle with its rider."""
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    bike = np.array([(-0.03, 0.0), (0.03, 0.0), (0.03, 0.9), (0.3, 0.95),
                     (0.3, 1.02), (-0.3, 1.02), (-0.3, 0.95), (-0.03, 0.9)])
    pts = cam.project(xc + bike[:, 0], bike[:, 1], z + 0.3)
    scene.add_thing(
        z + 0.3, 'bicycle', pts,
        flat_painter(ctx, jitter(rng, (0.1, 0.1, 0.12)), fine=0.05))
    add_person(
        scene, xc, z, 'rider', base_y=0.3, height=rng.uniform(1.45, 1.65))


def add_tree(scene: Scene, xc: float, z: float, max_r: float) -> None:
    """Add a tree (trunk and crown, both ``vegetation``)."""
    cam, ctx, rng = scene.cam, scene.ctx, scene.rng
    trunk_h = rng.uniform(2.0, 3.5)
    r = min(rng.uniform(1.5, 3.2), max_r)
    trunk_w = rng.uniform(0.2, 0.4)
    trunk_col = jitter(rng, (0.30, 0.24, 0.18), 0.12)
    scene.add_thing(
        z, 'vegetation',
        front_rect(cam, xc - trunk_w / 2, xc + trunk_w / 2, 0.0,
                   trunk_h + r * 0.5, z),
        flat_painter(ctx, trunk_col, fine=0.08, streak=0.1))
    crown = blob(cam, xc, trunk_h + r * 0.85, z - 0.01, r,
                 r * rng.uniform(0.8, 1.2), rng)
    scene.add_thing(z - 0.01, 'vegetation', crown,
                    vegetation_painter(ctx, rng))


def add_pole(scene: Scene, xc: float, z: float, what: str) -> None:
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
    col = jitter(rng, (0.45, 0.46, 0.47), 0.15)
    rect = np.array([(left, bottom), (right, bottom), (right, top),
                     (left, top)])
    scene.add_thing(z, 'pole', rect, pole_painter(ctx, col))
    toward_road = -np.sign(xc) if xc != 0 else 1.0
    if what == 'lamp':
        arm = front_rect(cam, xc, xc + toward_road * 1.6, height - 0.12,
                         height, z)
        scene.add_thing(z, 'pole', arm, pole_painter(ctx, col))
    elif what == 'sign':
        for k in range(1 if rng.random() < 0.7 else 2):
            add_sign(scene, xc, height - 0.35 - 0.8 * k, z - 0.02)
    else:
        lw, lh = 0.32, 0.95
        y1 = height - 0.1
        box = front_rect(cam, xc - lw / 2, xc + lw / 2, y1 - lh, y1, z - 0.02)
        scene.add_thing(
            z - 0.02, 'traffic light', box,
            traffic_light_painter(ctx, rng, xc, y1, lh, lw, z - 0.02))
        if rng.random() < 0.5:
            # a mast arm over the road with a second light
            arm_len = rng.uniform(3.0, 5.5)
            xa = xc + toward_road * arm_len
            arm = front_rect(cam, xc, xa, height + 0.8, height + 1.0, z)
            scene.add_thing(z, 'pole', arm, pole_painter(ctx, col))
            box = front_rect(cam, xa - lw / 2, xa + lw / 2, height + 0.8 - lh,
                             height + 0.8, z - 0.02)
            scene.add_thing(
                z - 0.02, 'traffic light', box,
                traffic_light_painter(ctx, rng, xa, height + 0.8, lh, lw,
                                      z - 0.02))


def add_sign(scene: Scene, xc: float, yc: float, z: float) -> None:
    """Add a round, triangular, rectangular or diamond traffic sign."""
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
    scene.add_thing(z, 'traffic sign', pts,
                    shapes_painter(ctx, base, [(inner_pts, inner)], fine=0.03))
