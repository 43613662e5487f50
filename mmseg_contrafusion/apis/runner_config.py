"""Configs and runs of ``tools/train.py`` and ``tools/test.py``.

What the two tools do to a config before mmengine's ``Runner`` takes it:
MMSegmentation 1.x's ``--work-dir``/``--cfg-options``/``--amp``/``--tta``/
``--show-dir``/``--out`` handling, and the 0.x forms the seed systems use
(``--eval``, ``--aug-test``, ``--format-only --eval-options``).
"""
import logging
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config

from ..utils import ActionableError

#: Metrics ``--eval`` accepts (pixel accuracy ``aAcc`` is always reported).
IOU_METRICS = ('mIoU', 'mDice', 'mFscore')
#: Scale factors of ``--aug-test`` when the config has no ``tta_pipeline``:
#: the multi-scale test of the CAC and mmseg Cityscapes READMEs.
AUG_TEST_RATIOS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
#: 0.x ``--eval-options`` keys of ``--format-only``, and the 1.x
#: ``CityscapesMetric`` argument each maps to (it always writes labelIds).
FORMAT_ONLY_OPTIONS = {'imgfile_prefix': 'output_dir', 'to_label_id': None}


def read_runner_config(config: str,
                       launcher: str = 'none',
                       cfg_options: Optional[dict] = None,
                       work_dir: Optional[str] = None,
                       checkpoint: Optional[str] = None) -> Config:
    """Read a config as mmseg's train and test tools do.

    Args:
        config (str): Config file.
        launcher (str): ``none``, ``pytorch``, ``slurm`` or ``mpi``.
            Defaults to 'none'.
        cfg_options (dict, optional): ``--cfg-options`` overrides. Defaults
            to None.
        work_dir (str, optional): ``--work-dir``; else the config's, else
            ``./work_dirs/<config name>``. Defaults to None.
        checkpoint (str, optional): Checkpoint to test (``load_from``).
            Defaults to None.

    Returns:
        mmengine.Config: The config, ready for :func:`run`.

    Raises:
        SystemExit: If the config or the checkpoint file does not exist.
    """
    if not osp.isfile(config):
        raise SystemExit(f'config file {config} does not exist: give the '
                         'path of a config, e.g. configs/contrafusionnet/'
                         '*.py')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise SystemExit(f'checkpoint file {checkpoint} does not exist: '
                         'check the path (checkpoints are in '
                         'work_dirs/<config>/).')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    if checkpoint is not None:
        cfg.load_from = checkpoint
    return cfg


def enable_amp(cfg: Config) -> None:
    """``--amp``: train with mmengine's ``AmpOptimWrapper``."""
    from mmengine.logging import print_log

    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        print_log(
            'AMP training is already enabled in your config.',
            logger='current',
            level=logging.WARNING)
        return
    if optim_wrapper != 'OptimWrapper':
        raise SystemExit('--amp is only supported when the optimizer wrapper '
                         f'type is OptimWrapper, but it is {optim_wrapper}.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def enable_visualization(cfg: Config, show: bool, show_dir: Optional[str],
                         wait_time: float) -> None:
    """``--show`` / ``--show-dir``: turn on the visualization hook.

    Raises:
        RuntimeError: If the config has no ``default_hooks.visualization``.
    """
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise RuntimeError(
            f'{cfg.filename} has no `default_hooks.visualization`, which '
            '--show and --show-dir need: add '
            "default_hooks.visualization=dict(type='SegVisualizationHook').")
    hook = hooks['visualization']
    hook['draw'] = True
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        cfg.visualizer['save_dir'] = show_dir


def set_iou_metrics(cfg: Config, metrics: Sequence[str]) -> None:
    """``--eval``: an ``IoUMetric`` reporting ``metrics`` (plus aAcc)."""
    evaluator = cfg.get('test_evaluator') or {}
    if isinstance(evaluator, (list, tuple)):
        evaluator = next(
            (e for e in evaluator if e.get('type') == 'IoUMetric'), {})
    ignore_index = evaluator.get('ignore_index', 255)
    cfg.test_evaluator = dict(
        type='IoUMetric', iou_metrics=list(metrics), ignore_index=ignore_index)


def aug_test(cfg: Config) -> str:
    """``--aug-test``: ``--tta`` with the config's ``tta_pipeline``, or with
    the CAC README's Cityscapes setting (:data:`AUG_TEST_RATIOS` + flip) if
    it has none.

    Returns:
        str: One line saying which 1.x setting it maps to.
    """
    if cfg.get('tta_pipeline') is None:
        flips = [
            dict(type='RandomFlip', prob=prob, direction='horizontal')
            for prob in (0., 1.)
        ]
        cfg.tta_pipeline = [
            dict(type='LoadImageFromFile', backend_args=None),
            dict(
                type='TestTimeAug',
                transforms=[
                    [
                        dict(type='Resize', scale_factor=r, keep_ratio=True)
                        for r in AUG_TEST_RATIOS
                    ],
                    flips,
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


def enable_tta(cfg: Config) -> None:
    """``--tta``: test through the config's ``tta_model``/``tta_pipeline``."""
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def format_only(cfg: Config, options: dict) -> str:
    """``--format-only``: a ``CityscapesMetric(format_only=True)`` writing
    ``labelIds`` PNGs (the test server's layout) to
    ``options['imgfile_prefix']``.

    Returns:
        str: The output folder.

    Raises:
        SystemExit: For an option it does not know, or without
            ``imgfile_prefix``.
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


def save_predictions(cfg: Config, out_dir: str) -> None:
    """``--out``: the evaluator keeps the predicted label maps in a folder."""
    cfg.test_evaluator['output_dir'] = out_dir
    cfg.test_evaluator['keep_results'] = True


def run(cfg: Config, mode: str, notes: Sequence[str] = ()) -> None:
    """Build the config's runner and train or test.

    Args:
        cfg (mmengine.Config): From :func:`read_runner_config`.
        mode (str): ``'train'`` or ``'test'``.
        notes (Sequence[str]): Lines to log first (what the stack's patches
            and the 0.x options did). Defaults to ().

    Raises:
        SystemExit: With one line naming the file, key or value and the
            fix, if the data, config or checkpoint is bad
            (:class:`ActionableError`).
    """
    from mmengine.runner import Runner

    from .. import compat

    try:
        if 'runner_type' in cfg:
            from mmseg.registry import RUNNERS
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
        for note in (compat.describe(), *notes):
            runner.logger.info(note)
        getattr(runner, mode)()
    except ActionableError as error:
        raise SystemExit(error.one_line())
