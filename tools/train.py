"""Train a segmentor: ``python tools/train.py CONFIG [options]``.

The interface of MMSegmentation 1.x's ``tools/train.py``; configs load the
plugin through ``custom_imports``. Multi-GPU / multi-node / multi-process CPU
runs go through ``tools/dist_train.sh``. The work is done by
:mod:`mmseg_contrafusion.apis.runner_config`.
"""
import argparse

from mmseg_contrafusion.apis.runner_config import (enable_amp,
                                                   read_runner_config, run)
from mmseg_contrafusion.utils import cli_args


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='the dir to save logs and models '
        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the latest checkpoint in the work dir; to resume '
        'from a given file add --cfg-options load_from=PATH')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision training (needs a GPU)')
    cli_args.add_trust_checkpoint(parser, 'the --resume / load_from file')
    cli_args.add_cfg_options(
        parser, 'override settings of the config, key=value pairs such as '
        'train_cfg.max_iters=1000 (lists: key="[a,b]", no spaces)')
    cli_args.add_launcher(parser)
    args = parser.parse_args()
    cli_args.apply_local_rank(args)
    return args


def main() -> None:
    args = parse_args()
    cfg = read_runner_config(args.config, args.launcher, args.cfg_options,
                             args.work_dir)
    if args.amp:
        enable_amp(cfg)
    cfg.resume = args.resume
    cli_args.apply_trust_checkpoint(args)
    run(cfg, 'train')


if __name__ == '__main__':
    main()
