"""Command-line arguments and outputs that the analysis tools share."""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Any, Optional, Sequence, Tuple

from ..utils import cli_args

#: Help of ``--shape``.
SHAPE_HELP = 'input size H W (or one number for a square)'


def add_configs(parser: argparse.ArgumentParser) -> None:
    """Positional ``configs``: files, folders or glob patterns."""
    parser.add_argument(
        'configs', nargs='+', help='config files, folders or glob patterns')


def add_shape(parser: argparse.ArgumentParser, help: str = SHAPE_HELP) -> None:
    """``--shape H [W]``, default 512 512 (see :func:`parse_shape`)."""
    parser.add_argument(
        '--shape', type=int, nargs='+', default=[512, 512], help=help)


def add_runs(parser: argparse.ArgumentParser,
             runs: Any = 5,
             warmup: Any = 2,
             what: str = 'runs') -> None:
    """``--runs`` (timed) and ``--warmup`` (untimed) counts.

    Args:
        parser (ArgumentParser): The parser.
        runs (int | None): Default of ``--runs``. Defaults to 5.
        warmup (int | None): Default of ``--warmup``. Defaults to 2.
        what (str): What is run, for the help. Defaults to ``'runs'``.
    """
    parser.add_argument('--runs', type=int, default=runs, help=f'timed {what}')
    parser.add_argument(
        '--warmup', type=int, default=warmup, help=f'warm-up {what}')


def add_device(parser: argparse.ArgumentParser,
               help: str = 'cpu, cuda or cuda:N') -> None:
    """``--device``, default ``cpu``."""
    parser.add_argument('--device', default='cpu', help=help)


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N`` (``torch.set_num_threads``)."""
    parser.add_argument(
        '--threads', type=int, help='CPU threads (torch.set_num_threads)')


def add_random_init(parser: argparse.ArgumentParser) -> None:
    """``--no-random-init`` (``args.random_init``, default True)."""
    parser.add_argument(
        '--no-random-init',
        dest='random_init',
        action='store_false',
        help='keep the pretrained init_cfg of the configs (downloads)')


def add_cfg_options(
        parser: argparse.ArgumentParser,
        help: str = 'override settings of every config, key=value pairs'
) -> None:
    """``--cfg-options key=value ...``, applied to every config."""
    cli_args.add_cfg_options(parser, help)


def add_out(parser: argparse.ArgumentParser,
            help: str = 'write the results to this JSON file') -> None:
    """``--out JSON``."""
    parser.add_argument('--out', help=help)


def check_runs(parser: argparse.ArgumentParser,
               args: argparse.Namespace) -> None:
    """Exit with a usage error unless ``--runs >= 1`` and ``--warmup >= 0``."""
    if args.runs < 1 or args.warmup < 0:
        parser.error('--runs must be >= 1 and --warmup >= 0')


def parse_shape(values: Sequence[int]) -> Tuple[int, int]:
    """``--shape`` values as ``(H, W)``; one value means a square.

    Raises:
        SystemExit: For more than two values.
    """
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) == 2:
        return (values[0], values[1])
    raise SystemExit(f'--shape takes H W or one size, got {values}')


def check_device(device: str) -> None:
    """Exit with a message if ``device`` is CUDA and CUDA is not available."""
    import torch
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f'--device {device}: CUDA is not available')


def log_stderr(message: str) -> None:
    """Progress messages of the tools go to stderr, tables to stdout."""
    print(message, file=sys.stderr)


def write_json(data: Any, path: str) -> None:
    """Write ``data`` to ``path`` (folders made) and say so on stdout."""
    if not path:
        return
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f, indent=2)
    print(f'wrote {path}')


def print_and_write(result: Any, text: str, path: Optional[str]) -> Any:
    """Print a tool's table and write its result as JSON (if ``path``).

    Returns:
        The result, for callers of the tool's ``main``.
    """
    print(text)
    write_json(result, path)
    return result
