"""The ablation report: table, CSV and picture, from the runs' JSON only."""
import csv
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

from ..tables import markdown_table
from ..timing import cpu_name
from .grid import AblationGrid
from .runs import METRICS, run_dir
from .stats import CONFIDENCE, paired_difference, summarise, t_critical

#: Columns of the CSV: one row per run.
CSV_HEADER = ['variant', 'seed', 'config', 'mIoU', 'mDice', 'aAcc', 'wall_s']


def variant_rows(grid: AblationGrid,
                 results: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One row per variant that has runs: summaries and the paired test.

    Args:
        grid (AblationGrid): The grid (variant order, reference).
        results (Sequence[dict]): ``result.json`` contents.

    Returns:
        list[dict]: ``variant``, ``description``, ``seeds`` (list), per
        metric a :class:`.stats.Summary` under its name, ``is_reference``,
        and ``paired`` (the
        mIoU :class:`.stats.PairedDifference` against the reference, None for
        the reference itself) and ``relative`` (its mean in % of the
        reference's mean mIoU).
    """
    by_variant: Dict[str, Dict[int, Dict[str, float]]] = {}
    for result in results:
        by_variant.setdefault(result['variant'],
                              {})[int(result['seed'])] = result['metrics']
    reference = by_variant.get(grid.reference, {})
    ref_miou = {seed: m['mIoU'] for seed, m in reference.items()}
    rows = []
    for variant in grid.variants:
        runs = by_variant.get(variant.name)
        if not runs:
            continue
        row: Dict[str, Any] = dict(
            variant=variant.name,
            description=variant.description,
            seeds=sorted(runs))
        for metric in METRICS:
            row[metric] = summarise([runs[s][metric] for s in sorted(runs)])
        row['paired'] = row['relative'] = None
        row['is_reference'] = variant.name == grid.reference
        miou = {seed: m['mIoU'] for seed, m in runs.items()}
        if variant.name != grid.reference and set(miou) & set(ref_miou):
            paired = paired_difference(miou, ref_miou)
            ref_mean = summarise(
                [ref_miou[s] for s in sorted(set(miou) & set(ref_miou))]).mean
            row['paired'] = paired
            row['relative'] = (100 * paired.mean /
                               ref_mean if ref_mean else None)
        rows.append(row)
    return rows


def _mean_std(summary) -> str:
    if summary.std is None:
        return f'{summary.mean:.2f}'
    return f'{summary.mean:.2f} ± {summary.std:.2f}'


def _paired_cell(row: Dict[str, Any]) -> str:
    paired = row['paired']
    if row['is_reference']:
        return '(reference)'
    if paired is None:
        return 'no seed paired with the reference'
    if paired.low is None:
        return f'{paired.mean:+.2f}'
    return f'{paired.mean:+.2f} [{paired.low:+.2f}, {paired.high:+.2f}]'


def table_rows(rows: Sequence[Dict[str, Any]]) -> List[List[str]]:
    """The Markdown/README table cells of :func:`variant_rows`."""
    cells = []
    for row in rows:
        paired = row['paired']
        relative = row['relative']
        cells.append([
            row['variant'], row['description'],
            str(len(row['seeds'])),
            _mean_std(row['mIoU']),
            _mean_std(row['mDice']),
            _mean_std(row['aAcc']),
            _paired_cell(row), '' if relative is None else f'{relative:+.1f}%',
            '' if paired is None else paired.verdict
        ])
    return cells


TABLE_HEADER = [
    'Variant', 'Change', 'Seeds', 'mIoU', 'mDice', 'aAcc',
    f'ΔmIoU vs reference [{int(CONFIDENCE * 100)}% CI]', 'Relative', 'Verdict'
]


def write_csv(results: Sequence[Dict[str, Any]], path: str) -> None:
    """Every run, one row each (see :data:`CSV_HEADER`)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        for r in results:
            writer.writerow([
                r['variant'], r['seed'], r['config'],
                *(f"{r['metrics'][m]:.4f}" for m in METRICS),
                r.get('wall_s', '')
            ])


def plot_miou(grid: AblationGrid, rows: Sequence[Dict[str, Any]],
              results: Sequence[Dict[str, Any]], out_file: str) -> None:
    """mIoU per variant: one dot per seed, the mean and its 95% interval."""
    from ...visualization.utils import save_figure, use_agg

    plt = use_agg()
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(rows) + 1.5), 3.8))
    for x, row in enumerate(rows):
        values = [
            r['metrics']['mIoU'] for r in results
            if r['variant'] == row['variant']
        ]
        ax.scatter(
            [x] * len(values),
            values,
            s=16,
            color='tab:blue',
            alpha=0.6,
            zorder=3)
        summary = row['mIoU']
        half = 0.0
        if summary.std is not None:
            half = t_critical(summary.n - 1) * summary.std / summary.n**0.5
        ax.errorbar(
            [x + 0.18], [summary.mean],
            yerr=[half],
            fmt='D',
            color='tab:red' if row['variant'] == grid.reference else 'black',
            capsize=4,
            markersize=5,
            zorder=4)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([row['variant'] for row in rows],
                       rotation=30,
                       ha='right')
    ax.set_ylabel('mIoU (%)')
    ax.set_title(f'{grid.title}: mIoU per seed (dots), mean and '
                 f'{int(CONFIDENCE * 100)}% interval')
    ax.grid(alpha=0.3, axis='y')
    fig.tight_layout()
    save_figure(fig, out_file)


def plot_curves(grid: AblationGrid, work_dir: str, out_file: str,
                variants: Sequence[str]) -> List[str]:
    """Training curves of seed 0 of ``variants`` (those that have one).

    Returns:
        list[str]: The variants drawn.
    """
    from ...visualization.training_curves import plot_curves as draw
    from ...visualization.training_curves import read_run
    from ...visualization.utils import VisualizationInputError

    runs, drawn = [], []
    for name in variants:
        folder = run_dir(work_dir, name, 0)
        if not osp.isfile(osp.join(folder, 'result.json')):
            continue
        try:
            _, losses, curve = read_run(folder, 'mIoU')
        except VisualizationInputError:
            continue  # no readable scalars: no curve, the table stands
        runs.append((name, losses, curve))
        drawn.append(name)
    if runs:
        draw(runs, 'mIoU', out_file)
    return drawn


def missing_runs(grid: AblationGrid,
                 results: Sequence[Dict[str, Any]]) -> List[str]:
    """``variant (seeds ...)`` for every run of the grid without a result."""
    done = {(r['variant'], int(r['seed'])) for r in results}
    missing = []
    for variant in grid.variants:
        seeds = [
            s for s in range(variant.seeds) if (variant.name, s) not in done
        ]
        if seeds:
            missing.append(
                f'{variant.name} (seed {", ".join(map(str, seeds))})')
    return missing


def write_report(grid: AblationGrid,
                 results: Sequence[Dict[str, Any]],
                 md_file: str,
                 csv_file: str,
                 figure_file: str,
                 command: str,
                 curves_file: Optional[str] = None,
                 curve_variants: Sequence[str] = (),
                 work_dir: Optional[str] = None,
                 machine: Optional[str] = None) -> List[Dict[str, Any]]:
    """Write the Markdown report, the CSV and the pictures.

    Args:
        grid (AblationGrid): The grid.
        results (Sequence[dict]): Its runs' ``result.json`` contents.
        md_file (str): Markdown output.
        csv_file (str): CSV output (every run).
        figure_file (str): mIoU picture (PNG).
        command (str): The command that makes the report, shown at its top.
        curves_file (str, optional): Training curves picture. Defaults to
            None (none drawn).
        curve_variants (Sequence[str]): Variants in the curves. Defaults to
            ().
        work_dir (str, optional): The runs' folder (for the curves).
        machine (str, optional): Where the runs ran. Defaults to this
            machine's CPU model and core count.

    Returns:
        list[dict]: :func:`variant_rows`.
    """
    rows = variant_rows(grid, results)
    write_csv(results, csv_file)
    if rows:
        plot_miou(grid, rows, results, figure_file)
    drawn = []
    if curves_file and work_dir:
        drawn = plot_curves(grid, work_dir, curves_file, curve_variants)
    here = osp.dirname(osp.abspath(md_file))
    lines = [
        f'# {grid.title}', '',
        f'Generated by `{command}` from the runs\' `result.json` files '
        f'(grid: `{grid.path}`; every run: `{osp.relpath(csv_file, here)}`).',
        f'Runs on: {machine or cpu_name()} ({os.cpu_count()} cores).', ''
    ]
    if grid.notes:
        lines += [grid.notes.strip(), '']
    lines += [
        f'Reference: `{grid.reference}`. mIoU, mDice and aAcc in % on the '
        'validation set, mean ± sample std over seeds. ΔmIoU: the variant '
        'minus the reference, paired by seed, with the '
        f'{int(CONFIDENCE * 100)}% Student-t interval of the mean '
        'difference; the verdict reads that interval alone ("better" or '
        '"worse" when it excludes 0, else "not distinguishable"; "n/a" '
        'where there is no interval). Each variant is tested on its own, '
        'at 95%: with many variants, about one in twenty verdicts can be '
        '"better" or "worse" by chance alone.', ''
    ]
    lines.append(markdown_table(TABLE_HEADER, table_rows(rows)))
    lines += ['', f'![mIoU per variant]({osp.relpath(figure_file, here)})']
    if drawn:
        lines += [
            '', f'Training curves (seed 0 of {", ".join(drawn)}):', '',
            f'![training curves]({osp.relpath(curves_file, here)})'
        ]
    missing = missing_runs(grid, results)
    if missing:
        lines += [
            '', 'Not run yet; the command above without `--variants` (and '
            'with `--seeds N` for more seeds) runs them, skipping the '
            'finished runs:', ''
        ] + [f'- {m}' for m in missing]
    os.makedirs(here, exist_ok=True)
    with open(md_file, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return rows
