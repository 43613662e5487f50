"""Feature alignment of the two encoders of a ContraFusionNet model.

Projects the transformer's and the CNN's pixel embeddings (the training-only
projection heads of ``ContrastiveFusionHead``) of some validation images into
2-D with one PCA fitted on both streams, coloured by class, for a model before
training (random init, seeded as the Runner seeds it) and after (a
checkpoint). The work is done by
:mod:`mmseg_contrafusion.visualization.feature_alignment`.

Example::

    python tools/visualization/feature_alignment.py CONFIG CHECKPOINT \\
        --data-root data/synthetic_cityscapes --out alignment.png
"""
import argparse
from typing import Optional, Sequence

from mmseg_contrafusion.visualization.feature_alignment import (
    alignment_panels, plot_alignment)
from mmseg_contrafusion.visualization.utils import VisualizationInputError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (``argv``: without the program name)."""
    parser = argparse.ArgumentParser(
        description='PCA of both encoders\' pixel embeddings, before and '
        'after training')
    parser.add_argument('config', help='ContraFusionNet config file')
    parser.add_argument('checkpoint', help='trained checkpoint ("after")')
    parser.add_argument(
        '--data-root',
        required=True,
        help='Cityscapes-layout root (leftImg8bit/, gtFine/ with '
        'labelTrainIds)')
    parser.add_argument('--split', default='val', help='split folder name')
    parser.add_argument(
        '--num-images', type=int, default=4, help='images to embed')
    parser.add_argument(
        '--points-per-class',
        type=int,
        default=60,
        help='pixels drawn per class and stream')
    parser.add_argument(
        '--level',
        type=int,
        default=0,
        help='index into the head\'s contrast_levels')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random init')
    parser.add_argument('--out', default='feature_alignment.png')
    parser.add_argument('--dpi', type=int, default=100)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Embed the images before and after training and write the figure."""
    args = parse_args(argv)
    try:
        panels = alignment_panels(args.config, args.checkpoint, args.data_root,
                                  args.split, args.num_images,
                                  args.points_per_class, args.level, args.seed)
    except VisualizationInputError as error:
        raise SystemExit(str(error))
    plot_alignment(panels, args.out, args.dpi)
    print(f'feature alignment: {args.out} (cosine before '
          f'{panels[0][1]["cosine"]:.3f}, after {panels[1][1]["cosine"]:.3f})')


if __name__ == '__main__':
    main()
