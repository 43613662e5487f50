"""Pictures of models, runs and results: one module per picture.

- :mod:`.predictions_grid`: images, ground truth and several models'
  predictions side by side;
- :mod:`.training_curves`: loss terms and the validation metric of
  mmengine runs;
- :mod:`.per_class_iou`: per-class IoU of several models (chart and JSON);
- :mod:`.feature_alignment`: PCA of both encoders' pixel embeddings before
  and after training;
- :mod:`.palette` (class colours, overlays) and :mod:`.utils` (matplotlib
  set-up, saving, label files), which they share.

Not imported by ``import mmseg_contrafusion``; matplotlib is imported only
when a figure is drawn. ``tools/visualization/`` holds the front ends.
"""
from .feature_alignment import alignment_panels, plot_alignment
from .palette import (IGNORE_INDEX, cityscapes_meta, colorize, overlay, paint,
                      palette_lut)
from .per_class_iou import per_class_metrics, per_class_report, plot_per_class
from .predictions_grid import dataset_samples, draw_grid, predictions_grid
from .training_curves import plot_curves, read_run, smooth, split_series
from .utils import (VisualizationInputError, first_duplicate, read_label,
                    save_figure, use_agg)

__all__ = [
    'IGNORE_INDEX', 'VisualizationInputError', 'alignment_panels',
    'cityscapes_meta', 'colorize', 'dataset_samples', 'draw_grid',
    'first_duplicate', 'overlay', 'paint', 'palette_lut', 'per_class_metrics',
    'per_class_report', 'plot_alignment', 'plot_curves', 'plot_per_class',
    'predictions_grid', 'read_label', 'read_run', 'save_figure', 'smooth',
    'split_series', 'use_agg'
]
