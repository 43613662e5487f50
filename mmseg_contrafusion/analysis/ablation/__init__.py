"""The ablation harness: seeded runs of a grid of variants, and the report.

* :mod:`.grid`: grid files (data: variants as ``--cfg-options`` overrides
  of one base config, or other configs).
* :mod:`.runs`: every (variant, seed) through ``tools/train.py`` and
  ``tools/test.py``, resumable.
* :mod:`.stats`: mean ± std over seeds and the paired difference against
  the reference with its 95% interval.
* :mod:`.report`: ``docs/ablations.md``, a CSV of every run and the
  pictures, from the runs' JSON only.
"""
from .grid import AblationGrid, GridError, Variant, load_grid
from .report import variant_rows, write_report
from .runs import collect_results, run_grid, run_one
from .stats import PairedDifference, Summary, paired_difference, summarise

__all__ = [
    'AblationGrid', 'GridError', 'PairedDifference', 'Summary', 'Variant',
    'collect_results', 'load_grid', 'paired_difference', 'run_grid', 'run_one',
    'summarise', 'variant_rows', 'write_report'
]
