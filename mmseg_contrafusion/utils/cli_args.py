"""Command-line arguments that several tools under ``tools/`` share."""
import argparse
import os

from .checkpoint_utils import TRUST_CHECKPOINT_ENV

#: What ``--trust-checkpoint`` risks, for its help.
TRUST_RISK = ('even if it needs pickled objects beyond what mmengine '
              'checkpoints hold (this can run code in the file: only for '
              'files you trust)')


def add_cfg_options(
        parser: argparse.ArgumentParser,
        help: str = 'override settings of the config, key=value pairs'
) -> None:
    """``--cfg-options key=value ...``, parsed by mmengine's ``DictAction``.

    Args:
        parser (argparse.ArgumentParser): The parser.
        help (str): Its help. Defaults to one config's overrides.
    """
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help=help)


def add_trust_checkpoint(parser: argparse.ArgumentParser,
                         what: str = 'CHECKPOINT') -> None:
    """``--trust-checkpoint``: load checkpoints beyond the allow-list.

    Args:
        parser (argparse.ArgumentParser): The parser.
        what (str): The checkpoint the flag applies to, for the help.
            Defaults to ``'CHECKPOINT'``.
    """
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help=f'load {what} {TRUST_RISK}')


def apply_trust_checkpoint(args: argparse.Namespace) -> None:
    """Pass ``--trust-checkpoint`` on to the checkpoint loader.

    The loader is mmengine's (registered by :mod:`mmseg_contrafusion.compat`)
    and reads the opt-in from the environment, so that it reaches the
    processes of a distributed run as well.
    """
    if args.trust_checkpoint:
        os.environ[TRUST_CHECKPOINT_ENV] = '1'


def add_launcher(parser: argparse.ArgumentParser) -> None:
    """``--launcher`` and ``--local-rank``, as mmseg's train/test tools.

    Args:
        parser (argparse.ArgumentParser): The parser.
    """
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def apply_local_rank(args: argparse.Namespace) -> None:
    """Set ``LOCAL_RANK`` from ``--local-rank`` unless a launcher set it."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
