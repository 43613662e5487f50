"""Per-class IoU of several models: numbers, a bar chart and a report.

The predictions are the trainId PNGs that ``tools/test.py CONFIG CKPT --out
PRED_DIR`` saves, one ``<image basename>.png`` per image (for Cityscapes
``<city>_<seq>_<frame>_leftImg8bit.png``). They are compared with the
dataset's ``gtFine/<split>/**/*_gtFine_labelTrainIds.png`` using mmseg's own
``IoUMetric.intersect_and_union`` (per image) and
``IoUMetric.total_area_to_metrics`` (on the dataset-level sums), so the
numbers are those ``tools/test.py --eval mIoU`` reports: per-class IoU in %,
NaN (``None``; ``null`` in the JSON, no bar in the chart) for a class that
is neither in the ground truth nor predicted, and mIoU the mean over the
other classes.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .palette import IGNORE_INDEX, cityscapes_meta
from .utils import (VisualizationInputError, read_label, save_figure,
                    split_files, use_agg)

GT_SUFFIX = '_gtFine_labelTrainIds.png'
IMG_SUFFIX = '_leftImg8bit'


def ground_truth_files(data_root: str, split: str) -> List[str]:
    """The split's ``*_gtFine_labelTrainIds.png`` files, sorted.

    Args:
        data_root (str): Dataset root.
        split (str): Split folder under ``gtFine/``.

    Returns:
        list[str]: Label files.

    Raises:
        VisualizationInputError: If the folder is missing or holds no such
            file.
    """
    return split_files(
        data_root, 'gtFine', split, GT_SUFFIX, 'create them with python '
        f'tools/dataset_converters/cityscapes.py {data_root}')


def prediction_file(pred_dir: str, gt_file: str) -> str:
    """Where ``tools/test.py --out`` saves the prediction of a label file.

    Args:
        pred_dir (str): Prediction folder.
        gt_file (str): ``<prefix>_gtFine_labelTrainIds.png``.

    Returns:
        str: ``<pred_dir>/<prefix>_leftImg8bit.png``.
    """
    prefix = osp.basename(gt_file)[:-len(GT_SUFFIX)]
    return osp.join(pred_dir, prefix + IMG_SUFFIX + '.png')


def dataset_areas(gt_files: Sequence[str], pred_dir: str,
                  num_classes: int) -> Tuple:
    """Sum ``IoUMetric.intersect_and_union`` over a split.

    Args:
        gt_files (Sequence[str]): Ground-truth trainId label files.
        pred_dir (str): Folder of the trainId predictions.
        num_classes (int): Number of classes.

    Returns:
        tuple[Tensor]: Total intersection, union, predicted and label areas
        per class, each of shape (num_classes,).

    Raises:
        VisualizationInputError: If predictions are missing or of another
            size.
    """
    import torch

    from mmseg.evaluation import IoUMetric

    if not osp.isdir(pred_dir):
        raise VisualizationInputError(
            f'prediction folder {pred_dir} does not exist')
    pred_files = [prediction_file(pred_dir, gt) for gt in gt_files]
    missing = [p for p in pred_files if not osp.isfile(p)]
    if missing:
        raise VisualizationInputError(
            f'{len(missing)} of {len(gt_files)} predictions missing in '
            f'{pred_dir} (e.g. {osp.basename(missing[0])}): save them with '
            'tools/test.py CONFIG CHECKPOINT --out DIR on the same split')
    totals = None
    for gt_file, pred_file in zip(gt_files, pred_files):
        label = read_label(gt_file)
        pred = read_label(pred_file)
        if pred.shape != label.shape:
            raise VisualizationInputError(
                f'prediction {pred_file} is {pred.shape[1]}x{pred.shape[0]} '
                f'but its ground truth {gt_file} is {label.shape[1]}x'
                f'{label.shape[0]}')
        areas = IoUMetric.intersect_and_union(
            torch.from_numpy(pred.astype(np.int64)),
            torch.from_numpy(label.astype(np.int64)), num_classes,
            IGNORE_INDEX)
        totals = areas if totals is None else tuple(
            t + a for t, a in zip(totals, areas))
    return totals


def _percent(value: float) -> Optional[float]:
    value = float(value)
    return None if math.isnan(value) else round(value * 100, 4)


def per_class_metrics(gt_files: Sequence[str], pred_dir: str,
                      classes: Sequence[str]) -> Dict:
    """IoU (and accuracy, Dice) per class and their means, in %.

    Args:
        gt_files (Sequence[str]): Ground-truth trainId label files.
        pred_dir (str): Folder of the trainId predictions.
        classes (Sequence[str]): Class names, in train id order.

    Returns:
        dict: ``aAcc``, ``mIoU``, ``mAcc``, ``mDice`` (float) and ``IoU``,
        ``Acc``, ``Dice`` (dict class -> float or None), as
        ``IoUMetric.compute_metrics`` computes them (means over non-NaN
        classes), unrounded.
    """
    from mmseg.evaluation import IoUMetric

    totals = dataset_areas(gt_files, pred_dir, len(classes))
    metrics = IoUMetric.total_area_to_metrics(*totals, ['mIoU', 'mDice'])
    result = {'aAcc': _percent(metrics['aAcc'])}
    for key in ('IoU', 'Acc', 'Dice'):
        values = np.asarray(metrics[key], dtype=np.float64)
        mean = np.nanmean(values) if np.isfinite(values).any() else np.nan
        result['m' + key] = _percent(mean)
    for key in ('IoU', 'Acc', 'Dice'):
        result[key] = {
            name: _percent(value)
            for name, value in zip(classes, metrics[key])
        }
    result['num_images'] = len(gt_files)
    return result


def plot_per_class(results: Dict[str, Dict],
                   classes: Sequence[str],
                   out_file: str,
                   dpi: int = 100) -> None:
    """Grouped bar chart of the per-class IoU of each model.

    Args:
        results (dict[str, dict]): Model name -> :func:`per_class_metrics`.
        classes (Sequence[str]): Class names (x axis).
        out_file (str): Output PNG.
        dpi (int): Figure DPI. Defaults to 100.
    """
    plt = use_agg()
    names = list(results)
    x = np.arange(len(classes))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(
        figsize=(max(8.0, 0.55 * len(classes) * max(1,
                                                    len(names)**0.5)), 4.8))
    colors = plt.get_cmap('tab10')
    for i, name in enumerate(names):
        ious = [results[name]['IoU'][c] for c in classes]
        heights = [np.nan if v is None else v for v in ious]
        miou = results[name]['mIoU']
        label = f'{name} (mIoU {miou:.2f})' if miou is not None else name
        centers = x - 0.4 + width * (i + 0.5)
        ax.bar(centers, heights, width, label=label, color=colors(i % 10))
        for center, height in zip(centers, heights):
            if np.isnan(height):  # class neither in the data nor predicted
                ax.text(
                    center,
                    1,
                    'n/a',
                    rotation=90,
                    ha='center',
                    va='bottom',
                    fontsize=7,
                    color='gray')
    ax.set_xticks(x)
    ax.set_xticklabels(classes, rotation=45, ha='right')
    ax.set_xlim(-0.6, len(classes) - 0.4)
    ax.set_ylim(0, 100)
    ax.set_ylabel('IoU (%)')
    ax.set_title('Per-class IoU')
    ax.grid(axis='y', alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc='upper right', fontsize='small')
    save_figure(fig, out_file, dpi)


def per_class_report(data_root: str,
                     predictions: Sequence[Tuple[str, str]],
                     split: str = 'val') -> Dict:
    """Per-class metrics of each model's predictions on a split.

    Args:
        data_root (str): Cityscapes-layout dataset root (with ``gtFine/``).
        predictions (Sequence[tuple[str, str]]): (model name, folder of its
            trainId predictions); every ground-truth image of the split
            needs a prediction in each folder, extra files are ignored.
        split (str): Split folder under ``gtFine/``. Defaults to 'val'.

    Returns:
        dict: ``data_root``, ``split``, ``classes`` (the 19 Cityscapes
        names), ``predictions`` (name -> folder) and ``models`` (name ->
        :func:`per_class_metrics`).

    Raises:
        VisualizationInputError: If labels or predictions are missing or do
            not fit.
    """
    gt_files = ground_truth_files(data_root, split)
    classes = list(cityscapes_meta()['classes'])
    return dict(
        data_root=data_root,
        split=split,
        classes=classes,
        predictions={
            name: pred_dir
            for name, pred_dir in predictions
        },
        models={
            name: per_class_metrics(gt_files, pred_dir, classes)
            for name, pred_dir in predictions
        })


def save_report(report: Dict, json_file: str) -> None:
    """Write a :func:`per_class_report` as JSON (creating the folder).

    Args:
        report (dict): The report.
        json_file (str): Output path.
    """
    os.makedirs(osp.dirname(osp.abspath(json_file)), exist_ok=True)
    with open(json_file, 'w') as f:
        json.dump(report, f, indent=2)
