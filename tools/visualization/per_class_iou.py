"""Per-class IoU of several models as a bar chart (PNG) and a JSON file.

    python tools/visualization/per_class_iou.py DATA_ROOT \
        --pred NAME PRED_DIR [--pred NAME PRED_DIR ...] \
        [--split val] [--out per_class_iou.png] [--json per_class_iou.json]

PRED_DIR holds the trainId PNGs of ``tools/test.py CONFIG CKPT --out
PRED_DIR``; the numbers are those ``tools/test.py --eval mIoU`` reports
(how: :mod:`mmseg_contrafusion.visualization.per_class_iou`, which does the
work). Every ground-truth image of the split needs a prediction in each
PRED_DIR; extra prediction files are ignored.
"""
import argparse
import os.path as osp
from typing import Optional, Sequence

from mmseg_contrafusion.visualization.per_class_iou import (per_class_report,
                                                            plot_per_class,
                                                            save_report)
from mmseg_contrafusion.visualization.utils import (VisualizationInputError,
                                                    first_duplicate)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (``argv``: without the program name)."""
    parser = argparse.ArgumentParser(
        description='Per-class IoU bar chart comparing models, from the '
        'predictions tools/test.py --out saves')
    parser.add_argument(
        'data_root', help='Cityscapes-layout dataset root (with gtFine/)')
    parser.add_argument(
        '--pred',
        nargs=2,
        action='append',
        metavar=('NAME', 'PRED_DIR'),
        required=True,
        help='a model name and the folder of its trainId predictions '
        '(tools/test.py --out); repeat for each model')
    parser.add_argument(
        '--split', default='val', help='dataset split (default: val)')
    parser.add_argument(
        '--out',
        default='per_class_iou.png',
        help='output PNG (default: per_class_iou.png)')
    parser.add_argument(
        '--json',
        default=None,
        help='output JSON with the numbers (default: --out with .json)')
    parser.add_argument(
        '--dpi', type=int, default=100, help='figure DPI (default: 100)')
    args = parser.parse_args(argv)
    if args.json is None:
        args.json = osp.splitext(args.out)[0] + '.json'
    if args.dpi <= 0:
        parser.error(f'--dpi must be positive, got {args.dpi}')
    duplicate = first_duplicate([name for name, _ in args.pred])
    if duplicate is not None:
        parser.error(f'--pred name {duplicate!r} is given twice')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Compute per-class IoU for each model, write the chart and the JSON."""
    args = parse_args(argv)
    try:
        report = per_class_report(args.data_root, args.pred, args.split)
    except VisualizationInputError as error:
        raise SystemExit(str(error))
    plot_per_class(report['models'], report['classes'], args.out, args.dpi)
    save_report(report, args.json)
    for name, result in report['models'].items():
        miou = result['mIoU']
        shown = 'n/a' if miou is None else f'{miou:.2f}'
        print(f'{name}: mIoU {shown} on {result["num_images"]} images')
    print(f'wrote {args.out} and {args.json}')


if __name__ == '__main__':
    main()
