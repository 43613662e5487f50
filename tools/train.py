"""Train a segmentor: ``python tools/train.py CONFIG [options]``.

The interface of MMSegmentation 1.x's ``tools/train.py``; configs load the
plugin through ``custom_imports``. Multi-GPU / multi-node / multi-process CPU
runs go through ``tools/dist_train.sh``.
"""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg_contrafusion import compat
from mmseg_contrafusion.utils import TRUST_CHECKPOINT_ENV, ActionableError


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
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load the --resume / load_from checkpoint even if it needs '
        'pickled objects beyond what mmengine checkpoints hold (this can run '
        'code in the file: only for files you trust)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs such as '
        'train_cfg.max_iters=1000 (lists: key="[a,b]", no spaces)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.config):
        raise SystemExit(f'config file {args.config} does not exist: give '
                         'the path of a config, e.g. configs/contrafusionnet/'
                         '*.py')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type '
                f'is `OptimWrapper` but got {optim_wrapper}.')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    cfg.resume = args.resume
    if args.trust_checkpoint:
        os.environ[TRUST_CHECKPOINT_ENV] = '1'

    try:
        if 'runner_type' in cfg:
            from mmseg.registry import RUNNERS
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
        runner.logger.info(compat.describe())
        runner.train()
    except ActionableError as error:
        # Bad data, config or checkpoint: one line naming it and the fix.
        raise SystemExit(error.one_line())


if __name__ == '__main__':
    main()
