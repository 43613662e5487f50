"""What the pictures share: matplotlib set-up, saving, label files."""
import os
import os.path as osp
from typing import List, Optional, Sequence

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


def split_files(data_root: str,
                layout_dir: str,
                split: str,
                suffix: str,
                when_empty: str = '') -> List[str]:
    """The files of a Cityscapes-layout split that end with ``suffix``.

    Args:
        data_root (str): Dataset root.
        layout_dir (str): ``'leftImg8bit'`` or ``'gtFine'``.
        split (str): Split folder under it (``--split``).
        suffix (str): File name ending, e.g. ``'_leftImg8bit.png'``.
        when_empty (str): What to do if there are none, appended to the
            message. Defaults to ''.

    Returns:
        list[str]: The files below ``data_root/layout_dir/split``, sorted.

    Raises:
        VisualizationInputError: If the folder is missing or holds no such
            file.
    """
    import glob

    folder = osp.join(data_root, layout_dir, split)
    if not osp.isdir(folder):
        raise VisualizationInputError(
            f'{"image" if layout_dir == "leftImg8bit" else "ground-truth"} '
            f'folder {folder} does not exist: give a Cityscapes-layout '
            'dataset root and --split')
    files = sorted(
        glob.glob(osp.join(folder, '**', '*' + suffix), recursive=True))
    if not files:
        raise VisualizationInputError(f'no *{suffix} files in {folder}' + (
            f': {when_empty}' if when_empty else ''))
    return files
