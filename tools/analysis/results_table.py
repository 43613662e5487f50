"""The ContraFusionNet-style results table, from configs and measurements.

    python tools/analysis/results_table.py CONFIG_OR_FOLDER [...] \
        [--metrics CONFIG=TEST_JSON_OR_WORK_DIR ...] [--work-dirs ROOT] \
        [--bench BENCH_JSON ...] [--measure [--shape 512 512 --runs 3]] \
        [--md table.md] [--csv table.csv]

Columns (the seed paper's): Model | Backbone | Params | Crop Size | mIoU |
Dice | Pixel Accuracy | Testing Time (per image), then Schedule and Config.

* Model, backbone, crop size and schedule come from the config.
* Params: inference-time parameters (see ``params_flops.py``), from the
  benchmark JSON or counted here.
* mIoU, Dice (mDice) and pixel accuracy (aAcc), in %, from the metrics JSON
  that ``tools/test.py`` writes to ``<work_dir>/<timestamp>/<timestamp>.json``:
  ``--metrics CONFIG=PATH`` (the JSON or the work dir; CONFIG is the config
  path, file name or stem) or ``--work-dirs ROOT`` (finds
  ``ROOT/<config stem>/*/*.json``). Rows without one say "not trained".
* Testing time: median ``model`` latency (whole-image inference, batch 1)
  from ``benchmark.py``'s JSON (``--bench``), or measured now for all rows
  in one run (``--measure``).

The code is ``mmseg_contrafusion.analysis.results_table``.
"""
import argparse

from mmseg_contrafusion.analysis import cli
from mmseg_contrafusion.analysis.configs import expand_configs
from mmseg_contrafusion.analysis.eval_metrics import parse_metric_pairs
from mmseg_contrafusion.analysis.results_table import (build_rows,
                                                       collect_bench,
                                                       to_markdown,
                                                       write_table)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build the seed-style results table (Markdown and CSV)')
    cli.add_configs(parser)
    parser.add_argument(
        '--metrics',
        nargs='+',
        default=[],
        metavar='CONFIG=PATH',
        help='test metrics per config: CONFIG (path, file name or stem) = '
        'the JSON tools/test.py wrote, or its work dir')
    parser.add_argument(
        '--work-dirs', help='find test metrics in WORK_DIRS/<config stem>/')
    parser.add_argument(
        '--bench',
        nargs='+',
        default=[],
        help='benchmark.py JSON file(s) with the latencies')
    parser.add_argument(
        '--measure',
        action='store_true',
        help='measure params and latency of every config now, in one run')
    cli.add_shape(parser, None)
    cli.add_runs(parser, runs=3, warmup=1)
    cli.add_device(parser, None)
    cli.add_threads(parser)
    parser.add_argument(
        '--time',
        dest='time_kind',
        choices=['wall', 'cpu'],
        default='wall',
        help='testing-time column: wall-clock median ± std (default) or '
        'median process CPU time (less affected by other processes, '
        'especially with --threads 1)')
    parser.add_argument(
        '--bench-out', help='with --measure: also write the benchmark JSON')
    parser.add_argument('--md', help='write the Markdown table here')
    parser.add_argument('--csv', help='write the CSV table here')
    args = parser.parse_args(argv)
    if args.measure and args.bench:
        parser.error('give either --bench or --measure, not both')
    return args


def main(argv=None):
    args = parse_args(argv)
    configs = expand_configs(args.configs)
    explicit = parse_metric_pairs(args.metrics)
    bench = collect_bench(configs, args.bench, args.measure,
                          cli.parse_shape(args.shape), args.runs, args.warmup,
                          args.device, args.threads, args.bench_out,
                          cli.log_stderr)
    rows = build_rows(configs, bench, explicit, args.work_dirs, args.time_kind)
    text = to_markdown(rows, bench, args.time_kind)
    print(text)
    write_table(rows, text, args.md, args.csv)
    return rows


if __name__ == '__main__':
    main()
