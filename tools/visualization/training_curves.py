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
see them).
"""
import argparse
import glob
import json
import math
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from vis_common import save_figure, unique_names, use_agg  # noqa: E402

Curve = Tuple[List[int], List[float]]
Series = Dict[str, Curve]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments without the program name.
            Defaults to None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
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
    unique_names(args.label, '--label', parser)
    return args


def run_name(run: str) -> str:
    """Default legend name: the work dir's name.

    Args:
        run (str): Work dir or ``scalars.json`` path.

    Returns:
        str: The folder name (the work dir of a ``scalars.json``).
    """
    path = osp.abspath(run)
    if osp.isfile(path):
        # <work_dir>/<timestamp>/vis_data/scalars.json
        path = osp.dirname(osp.dirname(osp.dirname(path)))
    return osp.basename(path.rstrip('/')) or path


def is_loss_key(key: str) -> bool:
    """Whether a scalar is a loss term (last dotted part starts with loss).

    Args:
        key (str): Scalar name, e.g. ``decode.loss_ce``.

    Returns:
        bool: True for ``loss``, ``loss_x``, ``a.b.loss_x``.
    """
    return key.rsplit('.', 1)[-1].startswith('loss')


def read_scalars(path: str) -> List[dict]:
    """Read an mmengine ``scalars.json`` (one JSON object per line).

    Args:
        path (str): The file.

    Returns:
        list[dict]: The records, in file order.

    Raises:
        SystemExit: If the file cannot be read or a line is not JSON.
    """
    records = []
    try:
        with open(path) as f:
            for number, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    raise SystemExit(f'{path} line {number} is not JSON: is '
                                     'it an mmengine scalars.json?')
                if isinstance(record, dict):
                    records.append(record)
    except OSError as error:
        raise SystemExit(f'{path} is unreadable: {error.strerror}')
    return records


def find_scalars(run: str) -> str:
    """The ``scalars.json`` of a run.

    Args:
        run (str): A ``scalars.json`` file, or a work dir: its latest
            ``*/vis_data/scalars.json`` (timestamp folder names sort by time)
            that holds training losses; the latest of any if none does.

    Returns:
        str: The file.

    Raises:
        SystemExit: If the path does not exist or the work dir has none.
    """
    if osp.isfile(run):
        return run
    if not osp.isdir(run):
        raise SystemExit(f'work dir {run} does not exist')
    candidates = sorted(
        glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json')))
    if not candidates:
        raise SystemExit(
            f'no */vis_data/scalars.json in {run}: is it the --work-dir of '
            'tools/train.py (with mmengine\'s LocalVisBackend)?')
    for path in reversed(candidates):
        if any(any(is_loss_key(k) for k in r) for r in read_scalars(path)):
            return path
    return candidates[-1]


def split_series(records: Sequence[dict],
                 metric: str) -> Tuple[Series, Curve]:
    """Split scalar records into loss curves and the validation curve.

    Args:
        records (Sequence[dict]): ``scalars.json`` records.
        metric (str): Validation metric name; a key ``metric`` or
            ``<prefix>/<metric>`` counts.

    Returns:
        tuple: Loss name -> (steps, values), and (steps, values) of the
        metric.
    """
    losses: Series = {}
    val_steps: List[int] = []
    val_values: List[float] = []
    for record in records:
        step = record.get('step', record.get('iter'))
        if step is None:
            continue
        for key, value in record.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if is_loss_key(key):
                steps, values = losses.setdefault(key, ([], []))
                steps.append(int(step))
                values.append(float(value))
            elif key == metric or key.rsplit('/', 1)[-1] == metric:
                val_steps.append(int(step))
                val_values.append(float(value))
    return losses, (val_steps, val_values)


def smooth(values: Sequence[float], weight: float) -> np.ndarray:
    """Bias-corrected exponential moving average (TensorBoard's smoothing).

    Args:
        values (Sequence[float]): The series.
        weight (float): Weight of the past, in [0, 1); 0 returns the series.

    Returns:
        np.ndarray: The smoothed series, same length; non-finite values are
        skipped (kept as they are).
    """
    values = np.asarray(values, dtype=np.float64)
    out = values.copy()
    average, norm = 0.0, 0.0
    for i, value in enumerate(values):
        if not math.isfinite(value):
            continue
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out[i] = average / norm
    return out


def loss_order(name: str) -> Tuple[int, str]:
    """Sort key: the total ``loss`` first, then the terms by name."""
    return (0 if name == 'loss' else 1, name)


def plot_curves(runs: Sequence[Tuple[str, Series, Curve]],
                metric: str,
                out_file: str,
                smooth_weight: float = 0.6,
                dpi: int = 100) -> None:
    """Draw one subplot per loss term and one for the validation metric.

    Args:
        runs (Sequence[tuple]): (label, losses, metric curve) per run, as
            from :func:`split_series`.
        metric (str): Name of the validation metric.
        out_file (str): Output PNG.
        smooth_weight (float): EMA weight for the losses. Defaults to 0.6.
        dpi (int): Figure DPI. Defaults to 100.
    """
    plt = use_agg()
    loss_names = sorted({name for _, losses, _ in runs for name in losses},
                        key=loss_order)
    panels = loss_names + [metric]
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows), squeeze=False)
    colors = plt.get_cmap('tab10')
    for index, panel in enumerate(panels):
        ax = axes[index // ncols][index % ncols]
        drawn = False
        for run_index, (label, losses, val_curve) in enumerate(runs):
            color = colors(run_index % 10)
            if panel in losses and index < len(loss_names):
                steps, values = losses[panel]
                if smooth_weight > 0:
                    ax.plot(steps, values, color=color, alpha=0.25,
                            linewidth=1)
                ax.plot(steps, smooth(values, smooth_weight), color=color,
                        linewidth=1.6, label=label,
                        marker='o' if len(steps) <= 20 else None,
                        markersize=3)
                drawn = True
            elif index == len(loss_names) and val_curve[0]:
                ax.plot(val_curve[0], val_curve[1], color=color,
                        marker='o', markersize=3.5, linewidth=1.6,
                        label=label)
                drawn = True
        is_metric = index == len(loss_names)
        ax.set_title(f'val {panel}' if is_metric else panel)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        if is_metric:
            ax.set_ylabel(f'{panel} (%)')
        if drawn:
            ax.legend(fontsize='small')
        else:
            ax.text(0.5, 0.5, 'no validation' if is_metric else 'no data',
                    ha='center', va='center', transform=ax.transAxes,
                    color='gray')
    for index in range(len(panels), nrows * ncols):
        axes[index // ncols][index % ncols].axis('off')
    suffix = f', losses smoothed (EMA {smooth_weight:g})' if (
        smooth_weight > 0) else ''
    fig.suptitle(f'Training curves{suffix}')
    fig.tight_layout()
    save_figure(fig, out_file, dpi)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Read the runs and write the figure.

    Args:
        argv (Sequence[str], optional): Command line without the program
            name. Defaults to None (``sys.argv[1:]``).
    """
    args = parse_args(argv)
    runs = []
    for run, label in zip(args.runs, args.label):
        path = find_scalars(run)
        losses, val_curve = split_series(read_scalars(path), args.metric)
        if not losses and not val_curve[0]:
            raise SystemExit(f'{path} has no loss and no {args.metric} '
                             'values')
        runs.append((label, losses, val_curve))
        print(f'{label}: {path} ({len(losses)} loss terms, '
              f'{len(val_curve[0])} validations)')
    plot_curves(runs, args.metric, args.out, args.smooth, args.dpi)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
