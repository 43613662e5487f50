"""Training losses and validation metric of mmengine runs, in one figure.

mmengine's ``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/
scalars.json``: one JSON line per logged training iteration (``loss``,
``decode.loss_ce``, ``decode.loss_contrast``, ...) and one per validation
(``mIoU``, ``mDice``, ... at ``step`` = the iteration). The figure has one
subplot per loss term (every key whose last dotted part starts with
``loss``) and one for the validation metric, each with one curve per run;
losses are drawn raw (faint) and smoothed with a bias-corrected exponential
moving average.
"""
import glob
import json
import math
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .utils import VisualizationInputError, save_figure, use_agg

Curve = Tuple[List[int], List[float]]
Series = Dict[str, Curve]


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
        VisualizationInputError: If the file cannot be read or a line is
            not JSON.
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
                    raise VisualizationInputError(
                        f'{path} line {number} is not JSON: is it an '
                        'mmengine scalars.json?')
                if isinstance(record, dict):
                    records.append(record)
    except OSError as error:
        raise VisualizationInputError(
            f'{path} is unreadable: {error.strerror}')
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
        VisualizationInputError: If the path does not exist or the work dir
            has none.
    """
    if osp.isfile(run):
        return run
    if not osp.isdir(run):
        raise VisualizationInputError(f'work dir {run} does not exist')
    candidates = sorted(
        glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json')))
    if not candidates:
        raise VisualizationInputError(
            f'no */vis_data/scalars.json in {run}: is it the --work-dir of '
            'tools/train.py (with mmengine\'s LocalVisBackend)?')
    for path in reversed(candidates):
        if any(any(is_loss_key(k) for k in r) for r in read_scalars(path)):
            return path
    return candidates[-1]


def split_series(records: Sequence[dict], metric: str) -> Tuple[Series, Curve]:
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
    loss_names = sorted({name
                         for _, losses, _ in runs
                         for name in losses},
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
                    ax.plot(
                        steps, values, color=color, alpha=0.25, linewidth=1)
                ax.plot(
                    steps,
                    smooth(values, smooth_weight),
                    color=color,
                    linewidth=1.6,
                    label=label,
                    marker='o' if len(steps) <= 20 else None,
                    markersize=3)
                drawn = True
            elif index == len(loss_names) and val_curve[0]:
                ax.plot(
                    val_curve[0],
                    val_curve[1],
                    color=color,
                    marker='o',
                    markersize=3.5,
                    linewidth=1.6,
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
            ax.text(
                0.5,
                0.5,
                'no validation' if is_metric else 'no data',
                ha='center',
                va='center',
                transform=ax.transAxes,
                color='gray')
    for index in range(len(panels), nrows * ncols):
        axes[index // ncols][index % ncols].axis('off')
    suffix = f', losses smoothed (EMA {smooth_weight:g})' if (smooth_weight
                                                              > 0) else ''
    fig.suptitle(f'Training curves{suffix}')
    fig.tight_layout()
    save_figure(fig, out_file, dpi)


def read_run(run: str, metric: str) -> Tuple[str, Series, Curve]:
    """The loss curves and the validation curve of one run.

    Args:
        run (str): A work dir or a ``scalars.json`` (see
            :func:`find_scalars`).
        metric (str): Validation metric name (see :func:`split_series`).

    Returns:
        tuple: The ``scalars.json`` read, loss name -> (steps, values), and
        (steps, values) of the metric.

    Raises:
        VisualizationInputError: If the run has no such file, or it holds
            neither losses nor the metric.
    """
    path = find_scalars(run)
    losses, val_curve = split_series(read_scalars(path), metric)
    if not losses and not val_curve[0]:
        raise VisualizationInputError(
            f'{path} has no loss and no {metric} values')
    return path, losses, val_curve
