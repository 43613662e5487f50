"""End to end through the tools: 2-process training, resume, testing."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import mmseg
import pytest


REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO_ROOT, 'tests/data/configs/segformer_tiny_synthetic.py')
PYTHON = sys.executable


def run(cmd, env, timeout=300):
    result = subprocess.run(
        cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=timeout)
    return result


def last_metrics(work_dir: str) -> dict:
    """Metrics JSON that mmengine's runner.test() writes into the work dir."""
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    assert files, f'no metrics json in {work_dir}'
    with open(files[-1]) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def trained(tmp_path_factory, synthetic_cityscapes):
    """Train the tiny config with 2 CPU processes, then resume to 6 iters."""
    env = dict(os.environ, SYNTHETIC_CITYSCAPES_ROOT=synthetic_cityscapes + '/',
               PORT='29511', PYTHON=PYTHON)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    work_dir = str(tmp_path_factory.mktemp('work_dir'))
    first = run(['bash', 'tools/dist_train.sh', TINY_CONFIG, '2',
                 '--work-dir', work_dir], env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    resumed = run(['bash', 'tools/dist_train.sh', TINY_CONFIG, '2',
                   '--work-dir', work_dir, '--resume', '--cfg-options',
                   'train_cfg.max_iters=6', 'train_cfg.val_interval=6'], env)
    assert resumed.returncode == 0, (resumed.stdout[-3000:] +
                                     resumed.stderr[-3000:])
    return dict(work_dir=work_dir, env=env, first=first, resumed=resumed)


def test_dist_train_writes_checkpoints_and_validates(trained):
    work_dir = trained['work_dir']
    for it in (2, 4):
        assert osp.isfile(osp.join(work_dir, f'iter_{it}.pth'))
    log = trained['first'].stdout + trained['first'].stderr
    assert 'Distributed training: True' in log
    assert log.count('Iter(train) [4/4]') == 1  # rank 0 logs
    assert re.search(r'mIoU', log), 'validation metrics missing from log'
    assert 'loss:' in log


def test_resume_continues_from_last_checkpoint(trained):
    log = trained['resumed'].stdout + trained['resumed'].stderr
    assert 'resumed epoch: 0, iter: 4' in log, log[-3000:]
    # It trained iterations 5 and 6, not 1..6 again.
    assert re.search(r'Iter\(train\) \[5/6\]', log)
    assert not re.search(r'Iter\(train\) \[1/6\]', log)
    assert osp.isfile(osp.join(trained['work_dir'], 'iter_6.pth'))


def test_dist_test_eval_reports_miou_mdice_aacc(trained, tmp_path):
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    test_dir = str(tmp_path / 'test')
    result = run(['bash', 'tools/dist_test.sh', TINY_CONFIG, ckpt, '2',
                  '--eval', 'mIoU', 'mDice', '--work-dir', test_dir],
                 trained['env'])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'per class results' in log and 'road' in log
    metrics = last_metrics(test_dir)
    for key in ('aAcc', 'mIoU', 'mDice'):
        assert key in metrics and 0.0 <= metrics[key] <= 100.0


def test_mmseg_own_train_tool_runs_the_config(tmp_path, synthetic_cityscapes):
    """Configs carry custom_imports, so mmseg's shipped tool trains them."""
    tool = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')
    env = dict(os.environ, SYNTHETIC_CITYSCAPES_ROOT=synthetic_cityscapes + '/')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    result = run([PYTHON, tool, TINY_CONFIG, '--work-dir', str(tmp_path),
                  '--cfg-options', 'train_cfg.max_iters=2',
                  'train_cfg.val_interval=2'], env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert osp.isfile(osp.join(tmp_path, 'iter_2.pth'))


def test_missing_config_is_one_clear_line(tmp_path):
    result = run([PYTHON, 'tools/train.py', str(tmp_path / 'nope.py')],
                 dict(os.environ))
    assert result.returncode != 0
    assert str(tmp_path / 'nope.py') in result.stderr
    assert 'Traceback' not in result.stderr


def test_checkpoint_of_another_model_is_one_clear_line(trained, tmp_path):
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    other = osp.join(
        REPO_ROOT, 'configs/contrafusionnet/'
        'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
    result = run([PYTHON, 'tools/test.py', other, ckpt, '--work-dir',
                  str(tmp_path)], trained['env'])
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('CheckpointMismatchError: ') and ckpt in last
    assert 'was not trained with this config' in last


def test_missing_data_root_is_one_clear_line(tmp_path):
    env = dict(os.environ, SYNTHETIC_CITYSCAPES_ROOT=str(tmp_path / 'none/'))
    result = run([PYTHON, 'tools/train.py', TINY_CONFIG, '--work-dir',
                  str(tmp_path / 'wd')], env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('DatasetError: ')
    assert str(tmp_path / 'none') in last and 'does not exist' in last
