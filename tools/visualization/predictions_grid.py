"""Predictions of several models side by side, as one PNG grid.

    python tools/visualization/predictions_grid.py \
        --model NAME CONFIG CHECKPOINT [--model NAME CONFIG CHECKPOINT ...] \
        (--data-root ROOT [--split val] [--num-images 4]
         | --images IMAGE [...] [--labels LABEL [...]]) \
        [--out predictions_grid.png] [--device cpu] [--opacity 1.0] \
        [--cell-width 3.0] [--dpi 100]

One row per image; the columns are the image, its ground truth and the
prediction of each ``--model`` (any number, in the order given), all painted
in the dataset palette (Cityscapes' for the Cityscapes configs, taken from
the first model's dataset metainfo). Under the grid, a legend lists the
classes present in the ground truth or in any prediction (plus ``ignore``,
black, where the ground truth has 255).

Images come from a Cityscapes-layout dataset (``--data-root``: ``--num-images``
images spread evenly over ``leftImg8bit/<split>``, sorted by name, with their
``gtFine/<split>/*_gtFine_labelTrainIds.png``) or are given explicitly
(``--images``, optionally ``--labels``: one trainId label PNG per image, in
the same order; without labels the ground-truth column is left out).

Models are loaded as ``tools/infer.py`` loads them (``mmseg.apis.init_model``,
no pretrained downloads, the checkpoint checked against the config) and run
with ``mmseg.apis.inference_model`` one model at a time.
"""
import argparse
import glob
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, osp.dirname(HERE))  # tools/, for infer.py
import infer  # noqa: E402
from vis_common import (  # noqa: E402
    cityscapes_meta, read_label, save_figure, unique_names, use_agg)

IGNORE_INDEX = 255
IMG_SUFFIX = '_leftImg8bit.png'
GT_SUFFIX = '_gtFine_labelTrainIds.png'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments without the program name.
            Defaults to None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Grid of images, ground truth and model predictions')
    parser.add_argument(
        '--model',
        nargs=3,
        action='append',
        required=True,
        metavar=('NAME', 'CONFIG', 'CHECKPOINT'),
        help='a column: its title, config and checkpoint; repeat for more '
        'models')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        '--data-root', help='Cityscapes-layout dataset root to take images '
        'and labels from')
    source.add_argument(
        '--images', nargs='+', help='image files (instead of --data-root)')
    parser.add_argument(
        '--labels',
        nargs='+',
        help='trainId label PNGs of --images, one per image in order')
    parser.add_argument(
        '--split', default='val', help='dataset split (default: val)')
    parser.add_argument(
        '--num-images',
        type=int,
        default=4,
        help='number of dataset images (rows) (default: 4)')
    parser.add_argument(
        '--out',
        default='predictions_grid.png',
        help='output PNG (default: predictions_grid.png)')
    parser.add_argument(
        '--device',
        default=None,
        help='device, e.g. cpu or cuda:0 (default: cuda:0 if available, '
        'else cpu)')
    parser.add_argument(
        '--opacity',
        type=float,
        default=1.0,
        help='weight of the class colours over the image in the label '
        'columns, in [0, 1] (default: 1.0, colours only)')
    parser.add_argument(
        '--cell-width',
        type=float,
        default=3.0,
        help='width of one grid cell in inches (default: 3.0)')
    parser.add_argument(
        '--dpi', type=int, default=100, help='figure DPI (default: 100)')
    args = parser.parse_args(argv)
    if args.labels is not None:
        if args.images is None:
            parser.error('--labels goes with --images (with --data-root the '
                         'labels come from gtFine/)')
        if len(args.labels) != len(args.images):
            parser.error(f'{len(args.labels)} --labels for '
                         f'{len(args.images)} --images: give one per image')
    if args.num_images < 1:
        parser.error(f'--num-images must be at least 1, got '
                     f'{args.num_images}')
    if not 0.0 <= args.opacity <= 1.0:
        parser.error(f'--opacity must be in [0, 1], got {args.opacity}')
    if args.cell_width <= 0 or args.dpi <= 0:
        parser.error('--cell-width and --dpi must be positive')
    unique_names([name for name, _, _ in args.model], '--model', parser)
    args.device = infer.resolve_device(args.device, parser)
    return args


def dataset_samples(data_root: str, split: str,
                    num_images: int) -> List[Tuple[str, str]]:
    """Pick images of a split, spread evenly, with their trainId labels.

    Args:
        data_root (str): Cityscapes-layout dataset root.
        split (str): Split folder under ``leftImg8bit/``.
        num_images (int): How many (fewer if the split has fewer).

    Returns:
        list[tuple[str, str]]: (image, label) paths.

    Raises:
        SystemExit: If the split has no images or a label is missing.
    """
    folder = osp.join(data_root, 'leftImg8bit', split)
    if not osp.isdir(folder):
        raise SystemExit(f'image folder {folder} does not exist: give a '
                         'Cityscapes-layout dataset root and --split')
    images = sorted(
        glob.glob(osp.join(folder, '**', '*' + IMG_SUFFIX), recursive=True))
    if not images:
        raise SystemExit(f'no *{IMG_SUFFIX} images in {folder}')
    count = min(num_images, len(images))
    picks = sorted({int(round(i))
                    for i in np.linspace(0, len(images) - 1, count)})
    samples = []
    for index in picks:
        image = images[index]
        relative = osp.relpath(image, folder)[:-len(IMG_SUFFIX)]
        label = osp.join(data_root, 'gtFine', split, relative + GT_SUFFIX)
        if not osp.isfile(label):
            raise SystemExit(
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


def predict_all(models: Sequence[Tuple[str, str, str]],
                images: Sequence[np.ndarray],
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
        model = infer.load_checked_model(config, checkpoint, device)
        if dataset_meta is None:
            dataset_meta = model.dataset_meta
        predictions[name] = [infer.predict(model, image) for image in images]
        del model
    return predictions, dataset_meta or cityscapes_meta()


def paint(label: np.ndarray, image_rgb: np.ndarray,
          palette: Sequence[Sequence[int]], opacity: float) -> np.ndarray:
    """Colour a label map, blended over the image unless opacity is 1.

    Args:
        label (np.ndarray): Class indices, shape (H, W).
        image_rgb (np.ndarray): The image, shape (H, W, 3).
        palette (Sequence[Sequence[int]]): RGB colour per class.
        opacity (float): Weight of the colours.

    Returns:
        np.ndarray: RGB, shape (H, W, 3), dtype uint8.
    """
    if opacity >= 1.0 or label.shape != image_rgb.shape[:2]:
        return infer.colorize(label, palette)
    return infer.overlay(image_rgb, label, palette, opacity, IGNORE_INDEX)


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
        opacity (float): See :func:`paint`. Defaults to 1.0.
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
        len(rows), len(columns),
        figsize=(cell_width * len(columns), cell_height * len(rows) + 0.4),
        squeeze=False)
    present = set()
    for r, (title, image) in enumerate(zip(rows, images_rgb)):
        cells = [image]
        if labels is not None:
            cells.append(paint(labels[r], image, palette, opacity))
            present.update(np.unique(labels[r]).tolist())
        for name in predictions:
            cells.append(paint(predictions[name][r], image, palette,
                               opacity))
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
        Patch(facecolor=np.asarray(palette[i]) / 255.0, edgecolor='black',
              linewidth=0.5, label=classes[i])
        for i in sorted(present) if i < len(classes)
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


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Load the images, run the models and write the grid.

    Args:
        argv (Sequence[str], optional): Command line without the program
            name. Defaults to None (``sys.argv[1:]``).
    """
    args = parse_args(argv)
    for _, config, checkpoint in args.model:
        for path, what in ((config, 'config'), (checkpoint, 'checkpoint')):
            if not osp.isfile(path):
                raise SystemExit(f'{what} file {path} does not exist')
    if args.data_root is not None:
        samples = dataset_samples(args.data_root, args.split,
                                  args.num_images)
        image_files = [image for image, _ in samples]
        label_files: Optional[List[str]] = [label for _, label in samples]
    else:
        for path in args.images:
            if not osp.isfile(path):
                raise SystemExit(f'image file {path} does not exist')
        image_files, label_files = list(args.images), args.labels
    images = [infer.read_image(path) for path in image_files]
    labels = None
    if label_files is not None:
        labels = [read_label(path) for path in label_files]
        for image_file, image, label_file, label in zip(
                image_files, images, label_files, labels):
            if label.shape != image.shape[:2]:
                raise SystemExit(
                    f'label {label_file} is {label.shape[1]}x'
                    f'{label.shape[0]} but image {image_file} is '
                    f'{image.shape[1]}x{image.shape[0]}')
    predictions, meta = predict_all(args.model, images, args.device)
    draw_grid([row_name(path) for path in image_files],
              [image[..., ::-1] for image in images], labels, predictions,
              meta['classes'], meta['palette'], args.out, args.opacity,
              args.cell_width, args.dpi)
    print(f'wrote {args.out}: {len(images)} images x '
          f'{len(predictions)} models')


if __name__ == '__main__':
    main()
