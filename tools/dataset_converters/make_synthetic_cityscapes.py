"""Generate a small synthetic street-scene dataset in the Cityscapes layout.

Front end of :func:`mmseg_contrafusion.datasets.synthetic.
make_synthetic_cityscapes`, which describes the scenes and the files.

Example::

    python tools/dataset_converters/make_synthetic_cityscapes.py \
        data/synthetic_cityscapes --num-train 24 --num-val 8
    python tools/dataset_converters/cityscapes.py data/synthetic_cityscapes
"""
import argparse
import os.path as osp
import time
from typing import Optional, Sequence

from cityscapesscripts.helpers.labels import id2label

from mmseg_contrafusion.datasets.synthetic import make_synthetic_cityscapes


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate a small synthetic street-scene dataset in the '
        'official Cityscapes layout (leftImg8bit/ and gtFine/ with polygon '
        'JSON, labelIds, instanceIds and color PNGs).')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument(
        '--num-train', type=int, default=24, help='training images')
    parser.add_argument(
        '--num-val', type=int, default=8, help='validation images')
    parser.add_argument('--width', type=int, default=512, help='image width')
    parser.add_argument('--height', type=int, default=256, help='image height')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--nproc', type=int, default=1, help='number of worker processes')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace leftImg8bit/ and gtFine/ in a non-empty folder that is '
        'not the output of a previous run')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    start = time.time()
    try:
        result = make_synthetic_cityscapes(
            args.out_dir,
            num_train=args.num_train,
            num_val=args.num_val,
            width=args.width,
            height=args.height,
            seed=args.seed,
            nproc=args.nproc,
            overwrite=args.overwrite,
            verbose=True)
    except (ValueError, FileExistsError) as err:
        raise SystemExit(f'make_synthetic_cityscapes.py: error: {err}')
    out = args.out_dir
    for split, stems in result['samples'].items():
        cities = sorted({s.split('/')[0] for s in stems})
        print(f'{split}: {len(stems)} images of {args.width}x{args.height} '
              f'from {", ".join(cities) or "-"}')
        print(f'  {osp.join(out, "leftImg8bit", split)}/<city>/'
              '*_leftImg8bit.png')
        print(f'  {osp.join(out, "gtFine", split)}/<city>/*_gtFine_'
              '{polygons.json,labelIds.png,instanceIds.png,color.png}')
    names = {lbl.trainId: lbl.name for lbl in id2label.values()}
    total = sum(len(s) for s in result['samples'].values())
    print(f'classes (images containing them, of {total}): ' +
          ', '.join(f'{names[k]} {v}'
                    for k, v in result['train_id_images'].items()))
    print(f'wrote {result["num_files"]} files to {out} in '
          f'{time.time() - start:.1f} s; next: python '
          f'tools/dataset_converters/cityscapes.py {out}')


if __name__ == '__main__':
    main()
