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
with ``mmseg.apis.inference_model`` one model at a time. The work is done by
:mod:`mmseg_contrafusion.visualization.predictions_grid`.
"""
import argparse
from typing import Optional, Sequence

from mmseg_contrafusion.apis import (InferenceInputError, check_model_files,
                                     resolve_device)
from mmseg_contrafusion.utils import ActionableError
from mmseg_contrafusion.utils.checkpoint_utils import CheckpointMismatchError
from mmseg_contrafusion.visualization import (VisualizationInputError,
                                              dataset_samples, first_duplicate,
                                              predictions_grid)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (``argv``: without the program name)."""
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
        '--data-root',
        help='Cityscapes-layout dataset root to take images '
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
    duplicate = first_duplicate([name for name, _, _ in args.model])
    if duplicate is not None:
        parser.error(f'--model name {duplicate!r} is given twice')
    try:
        args.device = resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Load the images, run the models and write the grid."""
    try:
        args = parse_args(argv)
        for _, config, checkpoint in args.model:
            check_model_files(config, checkpoint)
        if args.data_root is not None:
            samples = dataset_samples(args.data_root, args.split,
                                      args.num_images)
            image_files = [image for image, _ in samples]
            label_files = [label for _, label in samples]
        else:
            image_files, label_files = args.images, args.labels
        predictions_grid(args.model, image_files, label_files, args.out,
                         args.device, args.opacity, args.cell_width, args.dpi)
    except (InferenceInputError, VisualizationInputError,
            CheckpointMismatchError) as error:
        raise SystemExit(str(error))
    except ActionableError as error:  # a refused or corrupt checkpoint
        raise SystemExit(error.one_line())
    print(f'wrote {args.out}: {len(image_files)} images x '
          f'{len(args.model)} models')


if __name__ == '__main__':
    main()
