"""Scene description: labelled polygons with their painters, in drawing
order."""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
from cityscapesscripts.helpers.labels import name2label

from .drawing import Painter
from .geometry import Camera, to_label_polygon
from .textures import TextureContext


@dataclass
class SceneObject:
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


class Scene:
    """Collects the objects of one image in drawing order.

    Background layers are added in order with :meth:`add`; objects standing
    in the street are added with :meth:`add_thing` and drawn far to near.
    """

    def __init__(self, cam: Camera, ctx: TextureContext,
                 rng: np.random.Generator) -> None:
        self.cam = cam
        self.ctx = ctx
        self.rng = rng
        self.layers: List[SceneObject] = []
        self.things: List[Tuple[float, int, SceneObject]] = []
        self.front: List[SceneObject] = []

    def _make(self, label: str, points: np.ndarray,
              painter: Painter) -> Optional[SceneObject]:
        assert label in name2label, label
        polygon = to_label_polygon(points, self.cam.width, self.cam.height)
        return None if polygon is None else SceneObject(
            label, polygon, painter)

    def add(self, label: str, points: np.ndarray, painter: Painter) -> None:
        """Add a background layer, drawn in the order added."""
        obj = self._make(label, points, painter)
        if obj is not None:
            self.layers.append(obj)

    def add_thing(self, depth: float, label: str, points: np.ndarray,
                  painter: Painter) -> None:
        """Add an object standing at ``depth``; things are drawn far to
        near."""
        obj = self._make(label, points, painter)
        if obj is not None:
            self.things.append((depth, len(self.things), obj))

    def add_front(self, label: str, points: np.ndarray,
                  painter: Painter) -> None:
        """Add an object drawn over everything (the ego vehicle)."""
        obj = self._make(label, points, painter)
        if obj is not None:
            self.front.append(obj)

    def objects(self) -> List[SceneObject]:
        """All objects in drawing order: layers, things, front."""
        things = sorted(self.things, key=lambda t: (-t[0], t[1]))
        return self.layers + [t[2] for t in things] + self.front
