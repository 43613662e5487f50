"""Cityscapes export: one generated sample written as the official files."""
import json
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import json2labelImg
from PIL import Image

from .drawing import render_rgb
from .layout import build_scene


def write_png(path: str, img: np.ndarray) -> None:
    """Write ``img`` as PNG (zlib level 3), or raise :class:`OSError`."""
    if not cv2.imwrite(path, img, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f'could not write {path}')


def generate_sample(task: Dict) -> Dict:
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
    objects, look = build_scene(width, height, rng)
    img = render_rgb(objects, look, width, height, rng)

    city, stem, split = task['city'], task['stem'], task['split']
    img_dir = osp.join(task['out_dir'], 'leftImg8bit', split, city)
    gt_dir = osp.join(task['out_dir'], 'gtFine', split, city)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(gt_dir, exist_ok=True)
    write_png(osp.join(img_dir, f'{stem}_leftImg8bit.png'), img)

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
    write_png(gt + 'instanceIds.png', instances.astype(np.uint16))

    label_ids = np.unique(np.asarray(Image.open(gt + 'labelIds.png')))
    return dict(
        split=split, stem=f'{city}/{stem}', label_ids=label_ids.tolist())
