"""Export and verify many configs, each in its own process; one table.

    python tools/deployment/check_exports.py CONFIG [CONFIG ...] \
        [--shape 512 512] [--out-dir work_dirs/onnx] [--image FILE] \
        [--md TABLE.md] [--out rows.json] [--cfg-options ...]

For each config (files, folders or globs): export the random init (as
``pytorch2onnx.py``), compare ONNX Runtime with PyTorch on a real image (the
config's first test image, or ``--image``; limits 1e-4 relative error and
99.99% argmax agreement) and check that no training-only module is in the
graph. Exits non-zero if any config fails. The work is done by
:mod:`mmseg_contrafusion.deployment.export_check`.
"""
import argparse
from typing import Optional, Sequence

from mmseg_contrafusion.analysis import cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export configs to ONNX and verify each with ONNX '
        'Runtime, a process per config')
    cli.add_configs(parser)
    cli.add_shape(parser)
    parser.add_argument(
        '--out-dir',
        default='work_dirs/onnx',
        help='where the .onnx files go (default: work_dirs/onnx)')
    parser.add_argument(
        '--image',
        help='verification image (default: each config\'s first '
        'test image)')
    parser.add_argument('--md', help='also write the table to this file')
    cli.add_out(parser)
    cli.add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> list:
    args = parse_args(argv)
    from mmseg_contrafusion.analysis.configs import REPO_ROOT, expand_configs
    from mmseg_contrafusion.deployment.export_check import (check_exports,
                                                            format_table)

    rows = check_exports(
        expand_configs(args.configs),
        cli.parse_shape(args.shape),
        args.out_dir,
        image=args.image,
        cfg_options=args.cfg_options,
        log=cli.log_stderr)
    table = format_table(rows, REPO_ROOT)
    cli.print_and_write(rows, table, args.out)
    if args.md:
        with open(args.md, 'w') as f:
            f.write(table + '\n')
    failed = [row['config'] for row in rows if not row['passed']]
    if failed:
        raise SystemExit(f'{len(failed)} of {len(rows)} configs failed: ' +
                         ', '.join(failed))
    return rows


if __name__ == '__main__':
    main()
