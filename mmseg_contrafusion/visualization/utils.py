"""What the pictures share: matplotlib set-up, saving, label files."""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from ..utils.errors import ActionableError


class VisualizationInputError(ActionableError):
    """A file or folder given to a picture is missing or unusable; the
    message names it and says what to do."""


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
        VisualizationInputError: If the file is missing, unreadable or not
            single-channel.
    """
    from PIL import Image

    if not osp.isfile(path):
        raise VisualizationInputError(f'label file {path} does not exist')
    try:
        with Image.open(path) as image:
            label = np.array(image)
    except Exception as error:
        raise VisualizationInputError(f'label file {path} is unreadable: '
                                      f'{type(error).__name__}')
    if label.ndim != 2:
        raise VisualizationInputError(
            f'label file {path} is not a single-channel label map (shape '
            f'{label.shape})')
    return label.astype(np.uint8)


def first_duplicate(names: Sequence[str]) -> Optional[str]:
    """The first name that is given twice, e.g. of a repeated flag.

    Args:
        names (Sequence[str]): The names.

    Returns:
        str, optional: The first name seen before, or None if all differ.
    """
    seen = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None
