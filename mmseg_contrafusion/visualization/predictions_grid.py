"""Predictions of several models side by side, as one PNG grid.

One row per image; the columns are the image, its ground truth and the
prediction of each model (in the order given), all painted in the dataset
palette (the first model's dataset metainfo). Under the grid, a legend lists
the classes present in the ground truth or in any prediction (plus
``ignore``, black, where the ground truth has 255). Models are loaded with
:func:`~mmseg_contrafusion.apis.load_checked_model` and run one at a time.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..apis.image_files import read_image
from ..apis.inference import load_checked_model, predict
from .palette import IGNORE_INDEX, cityscapes_meta, paint
from .utils import (VisualizationInputError, read_label, save_figure,
                    split_files, use_agg)

IMG_SUFFIX = '_leftImg8bit.png'
GT_SUFFIX = '_gtFine_labelTrainIds.png'


def dataset_samples(data_root: str, split: str,
                    num_images: int) -> List[Tuple[str, str]]:
    """Pick images of a split, spread evenly, with their trainId labels.

    Args:
        data_root (str): Cityscapes-layout dataset root.
        split (str): Split folder under ``leftImg8bit/``.
        num_images (int): How many (fewer if the split has fewer).

    Returns:
        list[tuple[str, str]]: (image, label) paths, sorted by image name.

    Raises:
        VisualizationInputError: If the split has no images or a label is
            missing.
    """
    folder = osp.join(data_root, 'leftImg8bit', split)
    images = split_files(data_root, 'leftImg8bit', split, IMG_SUFFIX)
    count = min(num_images, len(images))
    picks = sorted(
        {int(round(i))
         for i in np.linspace(0,
                              len(images) - 1, count)})
    samples = []
    for index in picks:
        image = images[index]
        relative = osp.relpath(image, folder)[:-len(IMG_SUFFIX)]
        label = osp.join(data_root, 'gtFine', split, relative + GT_SUFFIX)
        if not osp.isfile(label):
            raise VisualizationInputError(
                f'label {label} of image {image} does not exist: create the '
                'labels with python tools/dataset_converters/cityscapes.py '
                f'{data_root}')
        samples.append((image, label))
    return samples


def row_name(image: str) -> str:
    """Row title: the file stem without ``_leftImg8bit``."""
    stem = osp.splitext(osp.basename(image))[0]
    return stem[:-len('_leftImg8bit')] if stem.endswith(
        '_leftImg8bit') else stem


def predict_all(models: Sequence[Tuple[str, str,
                                       str]], images: Sequence[np.ndarray],
                device: str) -> Tuple[Dict[str, List[np.ndarray]], Dict]:
    """Run every model on every image, one model in memory at a time.

    Args:
        models (Sequence[tuple[str, str, str]]): (name, config, checkpoint).
        images (Sequence[np.ndarray]): BGR images.
        device (str): Device.

    Returns:
        tuple: Model name -> label maps (uint8, the size of the images), and
        the first model's ``dataset_meta`` (classes, palette).
    """
    predictions: Dict[str, List[np.ndarray]] = {}
    dataset_meta = None
    for name, config, checkpoint in models:
        model = load_checked_model(config, checkpoint, device)
        if dataset_meta is None:
            dataset_meta = model.dataset_meta
        predictions[name] = [predict(model, image) for image in images]
        del model
    return predictions, dataset_meta or cityscapes_meta()


def draw_grid(rows: Sequence[str],
              images_rgb: Sequence[np.ndarray],
              labels: Optional[Sequence[np.ndarray]],
              predictions: Dict[str, List[np.ndarray]],
              classes: Sequence[str],
              palette: Sequence[Sequence[int]],
              out_file: str,
              opacity: float = 1.0,
              cell_width: float = 3.0,
              dpi: int = 100) -> None:
    """Draw the grid and its legend and save it.

    Args:
        rows (Sequence[str]): Row titles.
        images_rgb (Sequence[np.ndarray]): RGB images, one per row.
        labels (Sequence[np.ndarray], optional): Ground-truth train ids, one
            per row; None leaves the column out.
        predictions (dict[str, list[np.ndarray]]): Column title -> label
            maps, one per row.
        classes (Sequence[str]): Class names, in train id order.
        palette (Sequence[Sequence[int]]): RGB colour per class.
        out_file (str): Output PNG.
        opacity (float): Weight of the colours over the image (see
            :func:`~.palette.paint`). Defaults to 1.0.
        cell_width (float): Cell width in inches. Defaults to 3.0.
        dpi (int): Figure DPI. Defaults to 100.
    """
    from matplotlib.patches import Patch

    plt = use_agg()
    columns = ['image'] + (['ground truth'] if labels is not None else [])
    columns += list(predictions)
    height, width = images_rgb[0].shape[:2]
    cell_height = cell_width * height / width
    fig, axes = plt.subplots(
        len(rows),
        len(columns),
        figsize=(cell_width * len(columns), cell_height * len(rows) + 0.4),
        squeeze=False)
    present = set()
    for r, (title, image) in enumerate(zip(rows, images_rgb)):
        cells = [image]
        if labels is not None:
            cells.append(paint(labels[r], image, palette, opacity))
            present.update(np.unique(labels[r]).tolist())
        for name in predictions:
            cells.append(paint(predictions[name][r], image, palette, opacity))
            present.update(np.unique(predictions[name][r]).tolist())
        for c, cell in enumerate(cells):
            ax = axes[r][c]
            ax.imshow(cell, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(columns[c], fontsize=11)
            if c == 0:
                ax.set_ylabel(title, fontsize=8)
    handles = [
        Patch(
            facecolor=np.asarray(palette[i]) / 255.0,
            edgecolor='black',
            linewidth=0.5,
            label=classes[i]) for i in sorted(present) if i < len(classes)
    ]
    if IGNORE_INDEX in present:
        handles.append(Patch(facecolor='black', label='ignore'))
    fig.tight_layout(h_pad=0.3, w_pad=0.3)
    if handles:
        fig.legend(
            handles=handles,
            loc='upper center',
            bbox_to_anchor=(0.5, 0.0),
            ncol=min(len(handles), max(3, 2 * len(columns))),
            fontsize=9,
            frameon=False)
    save_figure(fig, out_file, dpi)


def predictions_grid(models: Sequence[Tuple[str, str, str]],
                     image_files: Sequence[str],
                     label_files: Optional[Sequence[str]],
                     out_file: str,
                     device: str = 'cpu',
                     opacity: float = 1.0,
                     cell_width: float = 3.0,
                     dpi: int = 100) -> None:
    """Read the images (and labels), run the models and save the grid.

    Args:
        models (Sequence[tuple[str, str, str]]): (name, config, checkpoint)
            of each prediction column.
        image_files (Sequence[str]): Images, one per row.
        label_files (Sequence[str], optional): Their trainId label PNGs, in
            the same order; None leaves the ground-truth column out.
        out_file (str): Output PNG.
        device (str): Device. Defaults to 'cpu'.
        opacity (float): See :func:`draw_grid`. Defaults to 1.0.
        cell_width (float): Cell width in inches. Defaults to 3.0.
        dpi (int): Figure DPI. Defaults to 100.

    Raises:
        VisualizationInputError: If a file is missing, or a label is not
            the size of its image.
        InferenceInputError: If an image or a model file is unusable.
        CheckpointMismatchError: If a checkpoint is not of its config.
    """
    for path in image_files:
        if not osp.isfile(path):
            raise VisualizationInputError(f'image file {path} does not exist')
    images = [read_image(path) for path in image_files]
    labels = None
    if label_files is not None:
        labels = [read_label(path) for path in label_files]
        for image_file, image, label_file, label in zip(
                image_files, images, label_files, labels):
            if label.shape != image.shape[:2]:
                raise VisualizationInputError(
                    f'label {label_file} is {label.shape[1]}x'
                    f'{label.shape[0]} but image {image_file} is '
                    f'{image.shape[1]}x{image.shape[0]}')
    predictions, meta = predict_all(models, images, device)
    draw_grid([row_name(path) for path in image_files],
              [image[..., ::-1]
               for image in images], labels, predictions, meta['classes'],
              meta['palette'], out_file, opacity, cell_width, dpi)
