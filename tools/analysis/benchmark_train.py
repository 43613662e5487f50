r"""Training-step time and memory of segmentors, several configs in one run.

    python tools/analysis/benchmark_train.py CONFIG [CONFIG ...] \
        [--baseline CONFIG] [--shape 512 512] [--batch 2] [--warmup 2] \
        [--runs 5] [--device cpu|cuda] [--threads N] [--without-contrast] \
        [--in-process | --interleave] [--cfg-options k=v ...] \
        [--out bench.json]

What is timed: ``model.train_step(data, optim_wrapper)`` (preprocessing,
forward with every loss, backward, optimizer step) on a fixed batch of
``--batch`` random images of ``--shape`` with block-wise random labels; no
data loading. Models are built with random init, SyncBN reverted to BN,
the config's ``optim_wrapper``. ``--warmup`` untimed steps, then ``--runs``
timed ones, on the wall clock and, on CPU, the process CPU time (all
threads; the one to quote from a shared machine, best with ``--threads
1``). Memory per model: ``step`` (what a step allocates on top of the
model and optimizer state: CUDA ``max_memory_allocated`` above the
allocation before; CPU the allocator's peak, torch.profiler) and ``peak``
(CUDA: absolute; CPU: peak RSS, which moves with allocator caching).

By default every model is measured in a subprocess of its own;
``--in-process`` measures them all here, one after the other;
``--interleave`` builds all here and times their steps in turns (memory
from one subprocess per model; ``--no-memory`` skips it).
``--without-contrast`` also measures each model with its contrastive terms
removed (rows ``<config stem>:no-contrast``). ``--baseline`` names the row
the others are compared with (``x time``, ``x CPU time``, ``x step
mem``). The code is ``mmseg_contrafusion.analysis.train_benchmark``.
"""
import argparse

from mmseg_contrafusion.analysis import cli
from mmseg_contrafusion.analysis.train_benchmark import (NO_CONTRAST,
                                                         format_table,
                                                         run_benchmark)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Training-step time and memory of segmentors')
    cli.add_configs(parser)
    cli.add_shape(parser)
    parser.add_argument('--batch', type=int, default=2, help='images/step')
    cli.add_runs(parser, runs=5, warmup=2, what='steps')
    cli.add_device(parser)
    cli.add_threads(parser)
    parser.add_argument(
        '--baseline',
        help='row the ratios refer to (config path, file name, '
        f'stem, or stem{NO_CONTRAST})')
    parser.add_argument(
        '--without-contrast',
        action='store_true',
        help='also measure each model without its contrastive terms')
    parser.add_argument(
        '--in-process',
        action='store_true',
        help='measure every model in this process (no subprocess each)')
    parser.add_argument(
        '--interleave',
        action='store_true',
        help='build all models in this process and time their steps in '
        'turns (fair on a machine whose load changes)')
    parser.add_argument(
        '--no-memory',
        action='store_true',
        help='with --interleave: skip the memory subprocesses')
    cli.add_random_init(parser)
    cli.add_out(parser)
    cli.add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.batch < 1:
        parser.error('--runs and --batch must be >= 1, --warmup >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    cli.check_device(args.device)
    result = run_benchmark(
        args.configs,
        shape=cli.parse_shape(args.shape),
        batch=args.batch,
        warmup=args.warmup,
        runs=args.runs,
        device=args.device,
        threads=args.threads,
        baseline=args.baseline,
        without_contrast=args.without_contrast,
        in_process=args.in_process,
        interleave=args.interleave,
        with_memory=not args.no_memory,
        cfg_options=args.cfg_options,
        random_init=args.random_init,
        log=cli.log_stderr)
    return cli.print_and_write(result, format_table(result), args.out)


if __name__ == '__main__':
    main()
