"""Test (evaluate) a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

The interface of MMSegmentation 1.x's ``tools/test.py``, plus the 0.x forms
the seed systems use:

- ``--eval mIoU mDice mFscore`` sets the test evaluator to an ``IoUMetric``
  with those metrics (pixel accuracy ``aAcc`` is always reported);
- ``--aug-test`` is ``--tta`` (multi-scale + flip, see :func:`aug_test`);
- ``--format-only --eval-options imgfile_prefix=DIR`` writes Cityscapes
  ``labelIds`` PNGs under DIR for the test server and computes no metric.

Metrics go to the log as a per-class and a mean table, and to
``<work_dir>/<timestamp>/<timestamp>.json``.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmseg_contrafusion import compat
from mmseg_contrafusion.utils import TRUST_CHECKPOINT_ENV, ActionableError

IOU_METRICS = ('mIoU', 'mDice', 'mFscore')
# The multi-scale test of the CAC and mmseg Cityscapes READMEs.
AUG_TEST_RATIOS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
# 0.x --eval-options keys for --format-only, and the 1.x CityscapesMetric
# argument each one maps to (CityscapesMetric always writes labelIds).
FORMAT_ONLY_OPTIONS = {'imgfile_prefix': 'output_dir', 'to_label_id': None}


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
    parser.add_argument(
        '--aug-test',
        action='store_true',
        help='0.x name of --tta: the config\'s tta_pipeline, or scales '
        f'{list(AUG_TEST_RATIOS)} + flip if it has none')
    parser.add_argument(
        '--format-only',
        action='store_true',
        help='write Cityscapes labelIds PNGs for the test server (with '
        '--eval-options imgfile_prefix=DIR) and compute no metric')
    parser.add_argument(
        '--eval-options',
        nargs='+',
        action=DictAction,
        default={},
        help='0.x options of --format-only: imgfile_prefix=DIR')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load CHECKPOINT even if it needs pickled objects beyond what '
        'mmengine checkpoints hold (this can run code in the file: only for '
        'files you trust)')
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


def aug_test(cfg: Config) -> str:
    """Apply ``--aug-test``: ``--tta`` with the config's ``tta_pipeline``,
    or with the CAC README's Cityscapes setting if it has none.

    Returns:
        str: One line saying which 1.x setting it maps to.
    """
    if cfg.get('tta_pipeline') is None:
        cfg.tta_pipeline = [
            dict(type='LoadImageFromFile', backend_args=None),
            dict(
                type='TestTimeAug',
                transforms=[
                    [dict(type='Resize', scale_factor=r, keep_ratio=True)
                     for r in AUG_TEST_RATIOS],
                    [dict(type='RandomFlip', prob=0., direction='horizontal'),
                     dict(type='RandomFlip', prob=1., direction='horizontal')],
                    [dict(type='LoadAnnotations')],
                    [dict(type='PackSegInputs')],
                ])
        ]
        source = f'scale factors {list(AUG_TEST_RATIOS)} + horizontal flip'
    else:
        source = "the config's tta_pipeline"
    if cfg.get('tta_model') is None:
        cfg.tta_model = dict(type='SegTTAModel')
    return (f'--aug-test (0.x) runs as --tta (1.x) with {source} '
            f'and tta_model={cfg.tta_model.type}')


def format_only(cfg: Config, options: dict) -> str:
    """Apply ``--format-only``: a ``CityscapesMetric(format_only=True)``
    writing ``labelIds`` PNGs (the test server's layout) to
    ``options['imgfile_prefix']``.

    Returns:
        str: The output folder.
    """
    unknown = sorted(set(options) - set(FORMAT_ONLY_OPTIONS))
    if unknown:
        raise SystemExit(
            f'--eval-options {unknown[0]} is not an option of --format-only; '
            f'use {", ".join(FORMAT_ONLY_OPTIONS)}.')
    if 'imgfile_prefix' not in options:
        raise SystemExit('--format-only needs --eval-options '
                         'imgfile_prefix=DIR, the folder to write into.')
    output_dir = str(options['imgfile_prefix'])
    cfg.test_evaluator = dict(
        type='CityscapesMetric',
        output_dir=output_dir,
        format_only=True,
        keep_results=True)
    return output_dir


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
    if args.trust_checkpoint:
        os.environ[TRUST_CHECKPOINT_ENV] = '1'

    notes = [compat.describe()]
    if args.format_only:
        if args.eval:
            raise SystemExit('--format-only writes predictions and computes '
                             'no metric: drop --eval.')
        output_dir = format_only(cfg, args.eval_options)
        notes.append(f'--format-only: Cityscapes labelIds PNGs go to '
                     f'{output_dir}; no metric is computed')
    elif args.eval_options:
        raise SystemExit('--eval-options is only read with --format-only.')
    if args.aug_test:
        notes.append(aug_test(cfg))
        args.tta = True

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
        for note in notes:
            runner.logger.info(note)
        runner.test()
    except ActionableError as error:
        # Bad data, config or checkpoint: one line naming it and the fix.
        raise SystemExit(error.one_line())


if __name__ == '__main__':
    main()
