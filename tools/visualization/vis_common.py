"""Helpers shared by the scripts in ``tools/visualization/``."""
import argparse
import os
import os.path as osp
from typing import Any, Dict, Optional, Sequence

import numpy as np


def cityscapes_meta() -> Dict[str, Any]:
    """Classes and palette of mmseg's ``CityscapesDataset``.

    Returns:
        dict: ``classes`` (tuple of 19 names) and ``palette`` (19 RGB
        colours), in train id order.
    """
    from mmseg.datasets import CityscapesDataset

    meta = CityscapesDataset.METAINFO
    return dict(classes=tuple(meta['classes']),
                palette=[list(c) for c in meta['palette']])


def use_agg():
    """Select matplotlib's non-interactive Agg backend.

    Returns:
        module: ``matplotlib.pyplot``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, out_file: str, dpi: int = 100) -> None:
    """Save a figure as PNG (creating the folder) and close it.

    Args:
        fig (matplotlib.figure.Figure): The figure.
        out_file (str): Output path.
        dpi (int): Resolution. Defaults to 100.
    """
    import matplotlib.pyplot as plt

    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out_file, dpi=dpi, bbox_inches='tight', format='png')
    plt.close(fig)


def read_label(path: str) -> np.ndarray:
    """Read a label PNG (one class index per pixel).

    Args:
        path (str): Label file, e.g. ``*_gtFine_labelTrainIds.png`` or a
            ``tools/test.py --out`` prediction.

    Returns:
        np.ndarray: Shape (H, W), dtype uint8.

    Raises:
        SystemExit: If the file is missing, unreadable or not single-channel.
    """
    from PIL import Image

    if not osp.isfile(path):
        raise SystemExit(f'label file {path} does not exist')
    try:
        with Image.open(path) as image:
            label = np.array(image)
    except Exception as error:
        raise SystemExit(f'label file {path} is unreadable: '
                         f'{type(error).__name__}')
    if label.ndim != 2:
        raise SystemExit(f'label file {path} is not a single-channel label '
                         f'map (shape {label.shape})')
    return label.astype(np.uint8)


def unique_names(names: Sequence[str],
                 flag: str,
                 parser: Optional[argparse.ArgumentParser] = None) -> None:
    """Check that the names given with a repeated flag differ.

    Args:
        names (Sequence[str]): The names.
        flag (str): The flag, for the message.
        parser (argparse.ArgumentParser, optional): Reports the problem as a
            usage error. Defaults to None (SystemExit).
    """
    seen = set()
    for name in names:
        if name in seen:
            message = f'{flag} name {name!r} is given twice'
            if parser is not None:
                parser.error(message)
            raise SystemExit(message)
        seen.add(name)
