r"""ContraFusionNet performance report: inference, training, data loading.

    python tools/analysis/performance_report.py \
        [--quick] [--device cpu|cuda] [--threads N [N ...]] [--runs 3] \
        [--warmup 1] [--sections inference deployment training data] \
        [--profile] [--figure docs/images/performance_latency.png] \
        [--config ROLE=PATH ...] [--data-root DIR] \
        [--out work_dirs/performance/report.json] [--md docs/performance.md]

One run measures everything the ratios need, so every ratio compares
figures taken under the same machine load: **inference** (ContraFusionNet
against its encoders alone, PSPNet R50-D8, SegFormer with the same MiT and
its ``-nocontrast`` ablation; training-only modules must not run),
**deployment** (ContraFusionNet and SegFormer exported to ONNX, eager
PyTorch and ONNX Runtime each timed in its own process; inference and
deployment at every ``--threads`` count),
**training** (the step with each contrastive term against CE + Dice only,
time and peak memory, at 512x512 and 512x1024) and **data** (the training
loader's images/s against what the step consumes). Targets are judged on
the fastest of the interleaved timed runs; the median wall and CPU time
ratios are reported beside. ``--profile`` adds the top operators, the
FLOPs and ONNX Runtime's own node profile, and with them the lower bound
of each time target that the run's figures give.

Writes the JSON (every figure, every run) and a Markdown report (``--md``;
``docs/performance.md`` by default, ``--md ''`` to skip). Text between
``<!-- notes:begin -->`` and ``<!-- notes:end -->`` of an existing report
is kept; ``--render JSON`` rewrites the Markdown of an earlier JSON without
measuring. ``--quick`` runs tiny configs at 64x64 (seconds; for tests).
The code is ``mmseg_contrafusion.analysis.report``.
"""
import argparse
import shlex
import sys
from typing import Optional, Sequence, Tuple

from mmseg_contrafusion.analysis import cli
from mmseg_contrafusion.analysis import report as perf


def _role_override(text: str) -> Tuple[str, str]:
    if '=' not in text:
        raise argparse.ArgumentTypeError(f'expected ROLE=PATH, got {text!r}')
    role, path = text.split('=', 1)
    return role, path


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='ContraFusionNet performance report: inference latency '
        'ratios, training step time and memory ratios, data loader '
        'throughput; targets with PASS/MISS')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny configs at 64x64, few runs (a smoke test)')
    parser.add_argument(
        '--sections',
        nargs='+',
        default=list(perf.SECTIONS),
        choices=perf.SECTIONS,
        help='what to measure')
    cli.add_device(parser)
    parser.add_argument(
        '--threads',
        type=int,
        nargs='+',
        help='CPU thread counts: inference and deployment at each, '
        'training and data at the last (default: torch\'s)')
    parser.add_argument(
        '--runs', type=int, help='timed runs / steps (default 3; quick 2)')
    parser.add_argument(
        '--warmup', type=int, help='warm-up runs / steps (default 1)')
    parser.add_argument(
        '--batch',
        type=int,
        help='images per training step (default: the config\'s '
        'train_dataloader.batch_size)')
    parser.add_argument(
        '--profile',
        action='store_true',
        help='add the top operators of inference and of each training '
        "step, FLOPs and ONNX Runtime's node profile (the lower bounds of "
        'the time targets)')
    parser.add_argument(
        '--config',
        action='append',
        type=_role_override,
        default=[],
        metavar='ROLE=PATH',
        help=f'use another config for a role ({", ".join(perf.ROLES)})')
    parser.add_argument(
        '--data-root',
        help='Cityscapes root for the loader benchmark '
        '(default: the config\'s if present, else generated data)')
    parser.add_argument(
        '--out',
        default='work_dirs/performance/report.json',
        help='JSON output')
    parser.add_argument(
        '--md',
        default='docs/performance.md',
        help='Markdown output (\'\' to skip)')
    parser.add_argument(
        '--figure',
        default='docs/images/performance_latency.png',
        help='latency per backend and model, shown in the Markdown '
        '(\'\' to skip)')
    parser.add_argument(
        '--render',
        metavar='JSON',
        help='measure nothing: write the Markdown (--md) of an earlier '
        'report JSON again, with its checks re-evaluated')
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error('--runs must be >= 1')
    if args.warmup is not None and args.warmup < 0:
        parser.error('--warmup must be >= 0')
    return args


def main(argv: Optional[Sequence[str]] = None):
    args = parse_args(argv)
    if args.render:
        report = perf.render_report(args.render)
    else:
        cli.check_device(args.device)
        shown = list(sys.argv[1:] if argv is None else argv)
        report = perf.run_report(
            quick=args.quick,
            sections=args.sections,
            device=args.device,
            threads=args.threads,
            runs=args.runs,
            warmup=args.warmup,
            batch=args.batch,
            profile=args.profile,
            config_overrides=dict(args.config),
            data_root=args.data_root,
            command=' '.join(['python tools/analysis/performance_report.py'] +
                             [shlex.quote(a) for a in shown]),
            log=cli.log_stderr)
    print(perf.format_summary(report))
    if not args.render:
        cli.write_json(report, args.out)
    figure = None
    if args.figure and perf.plot_latency(report, args.figure):
        figure = args.figure
        print(f'wrote {figure}')
    if args.md:
        perf.write_markdown(report, args.md, figure)
    return report


if __name__ == '__main__':
    main()
