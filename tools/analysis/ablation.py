"""Seeded ablation runs of a grid, and their report.

    python tools/analysis/ablation.py GRID [--seeds N] [--variants A B ...] \
        [--work-dir DIR] [--gpus G] [--launcher none|pytorch|slurm|mpi] \
        [--report-only] [--md docs/ablations.md] [--csv FILE] \
        [--figure FILE] [--curves FILE]

GRID is a grid file of ``configs/ablations/``: variants of one model as
``--cfg-options`` overrides or other configs. Every (variant, seed) is
trained with ``tools/train.py`` (``tools/dist_train.sh`` for ``--gpus`` > 1)
and tested with ``tools/test.py --eval mIoU mDice``, in
``DIR/<variant>/seed<k>/`` (default ``work_dirs/ablations/<grid>``). Runs
with a ``result.json`` are skipped and killed runs resume, so the command
can be run again until the grid is complete. The report (Markdown table
with the paired difference against the reference and its verdict, a CSV of
every run, the mIoU picture and training curves) is written from the runs'
JSON after every call. The work is done by
:mod:`mmseg_contrafusion.analysis.ablation`.
"""
import argparse
import os.path as osp
import shlex
import sys
from typing import Optional, Sequence

from mmseg_contrafusion.analysis.ablation import (GridError, collect_results,
                                                  load_grid, run_grid,
                                                  write_report)
from mmseg_contrafusion.analysis.ablation.runs import RunFailed
from mmseg_contrafusion.analysis.cli import log_stderr


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Seeded ablation runs of a grid and their report')
    parser.add_argument('grid', help='grid file (configs/ablations/*.py)')
    parser.add_argument(
        '--seeds',
        type=int,
        help='seeds 0..N-1 for every variant (default: each variant\'s own)')
    parser.add_argument(
        '--variants', nargs='+', help='only these variants (default: all)')
    parser.add_argument(
        '--work-dir', help='runs folder (default: work_dirs/ablations/GRID)')
    parser.add_argument(
        '--gpus',
        type=int,
        default=1,
        help='processes per run (GPUs; CPU processes without CUDA)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='launcher of single-process runs')
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='run nothing: write the report of the finished runs')
    parser.add_argument(
        '--md', default='docs/ablations.md', help='Markdown report')
    parser.add_argument(
        '--csv',
        help='CSV of every run (default: beside '
        'the report, <grid>.csv)')
    parser.add_argument(
        '--figure',
        help='mIoU picture (default: '
        'docs/images/<grid>_miou.png)')
    parser.add_argument(
        '--curves',
        help='training curves picture (default: '
        'docs/images/<grid>_curves.png)')
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error('--seeds must be >= 1')
    if args.gpus < 1:
        parser.error('--gpus must be >= 1')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        grid = load_grid(args.grid)
    except GridError as error:
        raise SystemExit(str(error))
    work_dir = args.work_dir or osp.join('work_dirs', 'ablations', grid.name)
    docs = osp.dirname(osp.abspath(args.md))
    failed = None
    if not args.report_only:
        try:
            run_grid(grid, work_dir, args.seeds, args.variants, args.gpus,
                     args.launcher, log_stderr)
        except (GridError, RunFailed) as error:
            failed = str(error)  # report what finished, then fail
    shown = list(sys.argv[1:] if argv is None else argv)
    results = collect_results(work_dir)
    write_report(
        grid,
        results,
        args.md,
        args.csv or osp.join(docs, f'{grid.name}.csv'),
        args.figure or osp.join(docs, 'images', f'{grid.name}_miou.png'),
        command=' '.join(['python tools/analysis/ablation.py'] +
                         [shlex.quote(a) for a in shown]),
        curves_file=args.curves
        or osp.join(docs, 'images', f'{grid.name}_curves.png'),
        curve_variants=[v.name for v in grid.variants[:4]],
        work_dir=work_dir)
    print(f'{len(results)} run(s) in {work_dir}; report: {args.md}')
    if failed:
        raise SystemExit(failed)


if __name__ == '__main__':
    main()
