"""Test (evaluate) a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

The interface of MMSegmentation 1.x's ``tools/test.py``, plus the 0.x-style
``--eval mIoU mDice mFscore``, which sets the test evaluator to an
``IoUMetric`` with those metrics (pixel accuracy ``aAcc`` is always reported).
Metrics go to the log as a per-class and a mean table, and to
``<work_dir>/<timestamp>/<timestamp>.json``.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmseg_contrafusion.utils import ActionableError

IOU_METRICS = ('mIoU', 'mDice', 'mFscore')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the dir to save the metrics file '
        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--eval',
        nargs='+',
        choices=IOU_METRICS,
        help='metrics to report (0.x style), e.g. --eval mIoU mDice; sets '
        'test_evaluator to IoUMetric(iou_metrics=[...])')
    parser.add_argument(
        '--out',
        type=str,
        help='the directory to save the predicted label maps (trainIds PNG)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved; with --show '
        'they are shown as well')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg: Config, args: argparse.Namespace) -> Config:
    """Turn on the visualization hook for ``--show`` / ``--show-dir``."""
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            f'{args.config} has no `default_hooks.visualization`, which '
            '--show and --show-dir need: add '
            "default_hooks.visualization=dict(type='SegVisualizationHook').")
    visualization_hook = default_hooks['visualization']
    visualization_hook['draw'] = True
    if args.show:
        visualization_hook['show'] = True
        visualization_hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
    return cfg


def set_iou_metrics(cfg: Config, metrics: list) -> None:
    """Apply ``--eval``: an IoUMetric reporting ``metrics`` (plus aAcc)."""
    evaluator = cfg.get('test_evaluator') or {}
    if isinstance(evaluator, (list, tuple)):
        evaluator = next(
            (e for e in evaluator if e.get('type') == 'IoUMetric'), {})
    ignore_index = evaluator.get('ignore_index', 255)
    cfg.test_evaluator = dict(
        type='IoUMetric', iou_metrics=list(metrics), ignore_index=ignore_index)


def main() -> None:
    args = parse_args()
    for path, what in ((args.config, 'config'), (args.checkpoint,
                                                 'checkpoint')):
        if not osp.isfile(path):
            raise SystemExit(f'{what} file {path} does not exist: check the '
                             'path (checkpoints are in work_dirs/<config>/).')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint

    if args.eval:
        set_iou_metrics(cfg, args.eval)
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    try:
        runner = Runner.from_cfg(cfg)
        runner.test()
    except ActionableError as error:
        # Bad data, config or checkpoint: one line naming it and the fix.
        raise SystemExit(error.one_line())


if __name__ == '__main__':
    main()
