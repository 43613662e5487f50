"""Prepare a Cityscapes tree for training with mmseg.

Same interface as mmseg's ``tools/dataset_converters/cityscapes.py``: writes
``*_gtFine_labelTrainIds.png`` next to every ``*_gtFine_polygons.json`` and
the split lists ``train.txt``, ``val.txt`` and ``test.txt``. Front end of
:func:`mmseg_contrafusion.datasets.cityscapes_conversion.convert_cityscapes`,
which describes the layout.

Example::

    python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8
"""
import argparse
import os.path as osp
from typing import Optional, Sequence

from mmseg_contrafusion.datasets.cityscapes_conversion import (
    IMG_DIR, TRAIN_ID_SUFFIX, convert_cityscapes)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert Cityscapes annotations to TrainIds and write '
        'the split lists train.txt, val.txt and test.txt.')
    parser.add_argument(
        'cityscapes_path',
        help='Cityscapes root, holding leftImg8bit/ and gtFine/')
    parser.add_argument(
        '--gt-dir',
        default='gtFine',
        type=str,
        help='annotation folder relative to the root')
    parser.add_argument(
        '-o',
        '--out-dir',
        type=str,
        help='output folder for the split lists (default: the root)')
    parser.add_argument(
        '--nproc', default=1, type=int, help='number of processes')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    result = convert_cityscapes(
        args.cityscapes_path,
        gt_dir=args.gt_dir,
        out_dir=args.out_dir,
        nproc=args.nproc,
        verbose=True)
    print(f'wrote {result["num_converted"]} *{TRAIN_ID_SUFFIX} files under '
          f'{osp.join(args.cityscapes_path, args.gt_dir)}')
    for split, path in result['split_files'].items():
        print(f'wrote {path}: {len(result["splits"][split])} samples')
    missing = result['missing_images']
    if missing:
        print(f'warning: {len(missing)} samples have no image under '
              f'{osp.join(args.cityscapes_path, IMG_DIR)}, e.g. '
              f'{missing[0]}_leftImg8bit.png; unzip '
              'leftImg8bit_trainvaltest.zip there.')


if __name__ == '__main__':
    main()
