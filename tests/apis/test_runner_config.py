"""mmseg_contrafusion.apis.runner_config: what train/test do to a config."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg_contrafusion.apis import runner_config as rc

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')


def test_work_dir_defaults_to_the_config_name_and_cli_wins(tmp_path):
    cfg = rc.read_runner_config(TINY_CONFIG)
    assert cfg.work_dir == osp.join('./work_dirs', 'segformer_tiny_synthetic')
    assert cfg.launcher == 'none' and cfg.get('load_from') is None
    ckpt = tmp_path / 'a.pth'
    ckpt.write_bytes(b'')
    cfg = rc.read_runner_config(TINY_CONFIG, 'pytorch',
                                dict(train_cfg=dict(max_iters=3)),
                                str(tmp_path), str(ckpt))
    assert cfg.work_dir == str(tmp_path) and cfg.launcher == 'pytorch'
    assert cfg.train_cfg.max_iters == 3 and cfg.load_from == str(ckpt)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(SystemExit, match='config file .*nope.py does not'):
        rc.read_runner_config(str(tmp_path / 'nope.py'))
    with pytest.raises(SystemExit, match='checkpoint file .*x.pth does not'):
        rc.read_runner_config(TINY_CONFIG, checkpoint=str(tmp_path / 'x.pth'))


def test_eval_keeps_the_ignore_index_of_the_config():
    cfg = Config(
        dict(test_evaluator=[
            dict(type='CityscapesMetric'),
            dict(type='IoUMetric', ignore_index=19)
        ]))
    rc.set_iou_metrics(cfg, ['mIoU', 'mDice'])
    assert cfg.test_evaluator == dict(
        type='IoUMetric', iou_metrics=['mIoU', 'mDice'], ignore_index=19)


def test_aug_test_without_tta_pipeline_uses_the_readme_scales():
    cfg = Config(
        dict(
            model=dict(type='DualEncoder'),
            test_dataloader=dict(dataset=dict(pipeline=[]))))
    note = rc.aug_test(cfg)
    assert 'scale factors [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]' in note
    scales, flips = cfg.tta_pipeline[1]['transforms'][:2]
    assert [t['scale_factor'] for t in scales] == list(rc.AUG_TEST_RATIOS)
    assert [t['prob'] for t in flips] == [0., 1.]
    rc.enable_tta(cfg)
    assert cfg.model.type == 'SegTTAModel'
    assert cfg.model.module == dict(type='DualEncoder')
    assert cfg.test_dataloader.dataset.pipeline == cfg.tta_pipeline


def test_format_only_options():
    cfg = Config(dict(test_evaluator=dict(type='IoUMetric')))
    assert rc.format_only(cfg, dict(imgfile_prefix='out')) == 'out'
    assert cfg.test_evaluator.type == 'CityscapesMetric'
    assert cfg.test_evaluator.format_only
    with pytest.raises(SystemExit, match='needs --eval-options'):
        rc.format_only(cfg, {})
    with pytest.raises(SystemExit, match='efficient_test is not an option'):
        rc.format_only(cfg, dict(imgfile_prefix='o', efficient_test=True))


def test_amp_swaps_the_optimizer_wrapper():
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    rc.enable_amp(cfg)
    assert cfg.optim_wrapper == dict(
        type='AmpOptimWrapper', loss_scale='dynamic')
    other = Config(dict(optim_wrapper=dict(type='OptimWrapperDict')))
    with pytest.raises(SystemExit, match='OptimWrapperDict'):
        rc.enable_amp(other)
