"""Training losses and validation mIoU of mmengine runs, in one PNG.

    python tools/visualization/training_curves.py WORK_DIR [WORK_DIR ...] \
        [--label NAME ...] [--metric mIoU] [--smooth 0.6] \
        [--out training_curves.png]

Each WORK_DIR is a work dir of ``tools/train.py`` (its latest
``<timestamp>/vis_data/scalars.json`` with training losses is read) or a
``scalars.json`` file itself. mmengine writes one JSON line per logged
training iteration (``loss``, ``decode.loss_ce``, ``decode.loss_contrast``,
...) and one per validation (``mIoU``, ``mDice``, ... at ``step`` = the
iteration).

One figure, one subplot per loss term (every key whose last dotted part
starts with ``loss``, e.g. ``loss``, ``decode.loss_ce``,
``aux.loss_contrast``) and one for the validation metric (``--metric``),
each with one curve per run. Losses are drawn raw (faint) and smoothed with
a bias-corrected exponential moving average (``--smooth``, 0 = raw); the x
axis is mmengine's step, the iteration for iteration-based training. A run
that was resumed writes a new timestamp folder: only the latest one with
training losses is read (pass earlier ``scalars.json`` files explicitly to
see them). The work is done by
:mod:`mmseg_contrafusion.visualization.training_curves`.
"""
import argparse
from typing import Optional, Sequence

from mmseg_contrafusion.visualization.training_curves import (plot_curves,
                                                              read_run,
                                                              run_name)
from mmseg_contrafusion.visualization.utils import (VisualizationInputError,
                                                    first_duplicate)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (``argv``: without the program name)."""
    parser = argparse.ArgumentParser(
        description='Plot every loss term and the validation metric of '
        'one or more mmengine runs')
    parser.add_argument(
        'runs',
        nargs='+',
        metavar='WORK_DIR',
        help='mmengine work dirs (or their vis_data/scalars.json files)')
    parser.add_argument(
        '--label',
        action='append',
        default=None,
        help='name of a run in the legend, once per WORK_DIR in the same '
        'order (default: the work dir names)')
    parser.add_argument(
        '--metric',
        default='mIoU',
        help='validation metric to plot (default: mIoU)')
    parser.add_argument(
        '--smooth',
        type=float,
        default=0.6,
        help='exponential moving average weight for the losses, in [0, 1) '
        '(default: 0.6; 0 = no smoothing)')
    parser.add_argument(
        '--out',
        default='training_curves.png',
        help='output PNG (default: training_curves.png)')
    parser.add_argument(
        '--dpi', type=int, default=100, help='figure DPI (default: 100)')
    args = parser.parse_args(argv)
    if not 0.0 <= args.smooth < 1.0:
        parser.error(f'--smooth must be in [0, 1), got {args.smooth}')
    if args.dpi <= 0:
        parser.error(f'--dpi must be positive, got {args.dpi}')
    if args.label is None:
        args.label = [run_name(run) for run in args.runs]
    elif len(args.label) != len(args.runs):
        parser.error(f'{len(args.label)} --label given for {len(args.runs)} '
                     'runs: give one per WORK_DIR, or none')
    duplicate = first_duplicate(args.label)
    if duplicate is not None:
        parser.error(f'--label name {duplicate!r} is given twice')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Read the runs and write the figure."""
    args = parse_args(argv)
    runs = []
    try:
        for run, label in zip(args.runs, args.label):
            path, losses, val_curve = read_run(run, args.metric)
            runs.append((label, losses, val_curve))
            print(f'{label}: {path} ({len(losses)} loss terms, '
                  f'{len(val_curve[0])} validations)')
    except VisualizationInputError as error:
        raise SystemExit(str(error))
    plot_curves(runs, args.metric, args.out, args.smooth, args.dpi)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
