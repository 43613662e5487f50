"""A small synthetic street-scene dataset in the official Cityscapes layout.

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

Modules, in the order the data flows through them:

- :mod:`.geometry`: the pinhole camera and polygon clipping;
- :mod:`.textures`: noise fields, colour jitter and palettes;
- :mod:`.painters`: one texture closure per class of surface;
- :mod:`.scene`: the labelled polygons of one image in drawing order;
- :mod:`.things` and :mod:`.layout`: what stands where in the street;
- :mod:`.drawing`: polygon fills and the RGB renderer;
- :mod:`.export`: one sample written as the official Cityscapes files;
- :mod:`.generate`: :func:`make_synthetic_cityscapes`, the whole dataset.

Not imported by :mod:`mmseg_contrafusion.datasets`: import it by name::

    from mmseg_contrafusion.datasets.synthetic import \
        make_synthetic_cityscapes
"""
try:
    import cityscapesscripts  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        'mmseg_contrafusion.datasets.synthetic needs cityscapesscripts: run '
        '`pip install cityscapesscripts==2.3.0`.') from err

from .generate import (FRAME_ID, MARKER_FILE, SPLIT_CITIES, TRAIN_CITIES,
                       VAL_CITIES, make_synthetic_cityscapes)

__all__ = [
    'make_synthetic_cityscapes', 'TRAIN_CITIES', 'VAL_CITIES', 'SPLIT_CITIES',
    'FRAME_ID', 'MARKER_FILE'
]
