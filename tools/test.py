"""Test (evaluate) a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

The interface of MMSegmentation 1.x's ``tools/test.py``, plus the 0.x forms
the seed systems use:

- ``--eval mIoU mDice mFscore`` sets the test evaluator to an ``IoUMetric``
  with those metrics (pixel accuracy ``aAcc`` is always reported);
- ``--aug-test`` is ``--tta`` (multi-scale + flip, see
  :func:`mmseg_contrafusion.apis.runner_config.aug_test`);
- ``--format-only --eval-options imgfile_prefix=DIR`` writes Cityscapes
  ``labelIds`` PNGs under DIR for the test server and computes no metric.

Metrics go to the log as a per-class and a mean table, and to
``<work_dir>/<timestamp>/<timestamp>.json``. The work is done by
:mod:`mmseg_contrafusion.apis.runner_config`.
"""
import argparse

from mmengine.config import DictAction

from mmseg_contrafusion.apis import runner_config as rc
from mmseg_contrafusion.utils import cli_args


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
        choices=rc.IOU_METRICS,
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
    cli_args.add_cfg_options(parser)
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument(
        '--aug-test',
        action='store_true',
        help='0.x name of --tta: the config\'s tta_pipeline, or scales '
        f'{list(rc.AUG_TEST_RATIOS)} + flip if it has none')
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
    cli_args.add_trust_checkpoint(parser)
    cli_args.add_launcher(parser)
    args = parser.parse_args()
    cli_args.apply_local_rank(args)
    if args.format_only and args.eval:
        parser.error('--format-only writes predictions and computes no '
                     'metric: drop --eval.')
    if args.eval_options and not args.format_only:
        parser.error('--eval-options is only read with --format-only.')
    return args


def main() -> None:
    args = parse_args()
    cfg = rc.read_runner_config(args.config, args.launcher, args.cfg_options,
                                args.work_dir, args.checkpoint)
    cli_args.apply_trust_checkpoint(args)
    notes = []
    if args.format_only:
        output_dir = rc.format_only(cfg, args.eval_options)
        notes.append(f'--format-only: Cityscapes labelIds PNGs go to '
                     f'{output_dir}; no metric is computed')
    if args.aug_test:
        notes.append(rc.aug_test(cfg))
    if args.eval:
        rc.set_iou_metrics(cfg, args.eval)
    if args.show or args.show_dir:
        rc.enable_visualization(cfg, args.show, args.show_dir, args.wait_time)
    if args.tta or args.aug_test:
        rc.enable_tta(cfg)
    if args.out is not None:
        rc.save_predictions(cfg, args.out)
    rc.run(cfg, 'test', notes)


if __name__ == '__main__':
    main()
