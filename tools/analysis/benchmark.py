"""Inference latency and peak memory of segmentors, several configs in one run.

    python tools/analysis/benchmark.py CONFIG [CONFIG ...] \
        [--shape 512 512] [--parts model encoder] [--runs 5] [--warmup 2] \
        [--device cpu|cuda] [--threads N] [--baseline CONFIG] \
        [--backend pytorch onnxruntime] \
        [--out bench.json]

What is timed (batch 1, a random image of ``--shape``, already normalised;
no data loading, no test-time augmentation): ``model``, the whole-image
inference (``encode_decode``, the "testing time per image" of the results
table); ``encoder``, ``extract_feat`` (every encoder and the neck);
``backbone``, each backbone-like submodule alone (``backbone:<name>``).

All models are built first and timed in ``--runs`` interleaved rounds
after ``--warmup`` untimed runs, so a change in machine load affects all
rows alike (``--sequential``: one model after the other, less memory). The
table shows the median and the spread, the JSON keeps every run. ``CPU
time`` is the median process CPU time (all threads) of a call: on a shared
machine less affected by other processes, most so with ``--threads 1``.
Peak memory: one extra run (CUDA: ``max_memory_allocated``; CPU: params,
buffers and input plus the CPU allocator's peak, torch.profiler). Configs
that build the same model are measured once. ``--baseline`` names a config
(path, file name or stem) whose ``model`` row the others are divided by
(``x baseline``). ``--backend pytorch onnxruntime`` times the whole
model under each backend in a process of its own (the models exported to
ONNX first; :mod:`mmseg_contrafusion.analysis.backend_benchmark`), the
baseline being its config on the first backend. The code is
``mmseg_contrafusion.analysis
.inference_benchmark``.
"""
import argparse

from mmseg_contrafusion.analysis import cli
from mmseg_contrafusion.analysis.backend_benchmark import (BACKENDS,
                                                           run_backends)
from mmseg_contrafusion.analysis.inference_benchmark import (format_table,
                                                             run_benchmark)
from mmseg_contrafusion.analysis.model_builders import PARTS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Inference latency and peak memory of segmentors')
    cli.add_configs(parser)
    cli.add_shape(parser)
    parser.add_argument(
        '--parts',
        nargs='+',
        default=['model'],
        choices=PARTS,
        help='what to time: model (whole inference), encoder '
        '(extract_feat), backbone (each backbone submodule)')
    parser.add_argument(
        '--backend',
        nargs='+',
        default=['pytorch'],
        choices=BACKENDS,
        help='backends to time (model part, CPU); more than pytorch alone: '
        'every backend in its own process, the models exported to ONNX '
        'first')
    cli.add_runs(parser, runs=5, warmup=2)
    cli.add_device(parser)
    cli.add_threads(parser)
    parser.add_argument(
        '--baseline', help='config whose model row the ratios refer to')
    cli.add_random_init(parser)
    parser.add_argument(
        '--no-params', action='store_true', help='skip parameter counting')
    parser.add_argument(
        '--no-memory', action='store_true', help='skip peak memory')
    parser.add_argument(
        '--sequential',
        action='store_true',
        help='measure one model at a time instead of building all and '
        'timing them in interleaved rounds (less memory)')
    cli.add_out(parser)
    cli.add_cfg_options(parser)
    args = parser.parse_args(argv)
    cli.check_runs(parser, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.backend != ['pytorch']:
        if args.device != 'cpu':
            raise SystemExit('--backend onnxruntime is timed on the CPU: '
                             'drop --device')
        result = run_backends(
            args.configs,
            cli.parse_shape(args.shape),
            backends=args.backend,
            runs=args.runs,
            warmup=args.warmup,
            threads=args.threads,
            baseline=args.baseline,
            cfg_options=args.cfg_options,
            log=cli.log_stderr)
        return cli.print_and_write(result, format_table(result), args.out)
    cli.check_device(args.device)
    result = run_benchmark(
        args.configs,
        cli.parse_shape(args.shape),
        parts=args.parts,
        runs=args.runs,
        warmup=args.warmup,
        device=args.device,
        threads=args.threads,
        baseline=args.baseline,
        random_init=args.random_init,
        with_params=not args.no_params,
        with_memory=not args.no_memory,
        cfg_options=args.cfg_options,
        sequential=args.sequential,
        log=cli.log_stderr)
    return cli.print_and_write(result, format_table(result), args.out)


if __name__ == '__main__':
    main()
