"""End to end through the tools: 2-process training, resume, testing."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

import mmseg

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')
PYTHON = sys.executable


def run(cmd, env, timeout=300):
    result = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
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
    env = dict(
        os.environ,
        SYNTHETIC_CITYSCAPES_ROOT=synthetic_cityscapes + '/',
        PORT='29511',
        PYTHON=PYTHON)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    work_dir = str(tmp_path_factory.mktemp('work_dir'))
    first = run([
        'bash', 'tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir', work_dir
    ], env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    resumed = run([
        'bash', 'tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir',
        work_dir, '--resume', '--cfg-options', 'train_cfg.max_iters=6',
        'train_cfg.val_interval=6'
    ], env)
    assert resumed.returncode == 0, (
        resumed.stdout[-3000:] + resumed.stderr[-3000:])
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
    result = run([
        'bash', 'tools/dist_test.sh', TINY_CONFIG, ckpt, '2', '--eval', 'mIoU',
        'mDice', '--work-dir', test_dir
    ], trained['env'])
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    log = result.stdout + result.stderr
    assert 'per class results' in log and 'road' in log
    metrics = last_metrics(test_dir)
    for key in ('aAcc', 'mIoU', 'mDice'):
        assert key in metrics and 0.0 <= metrics[key] <= 100.0


def test_mmseg_own_train_tool_runs_the_config(tmp_path, synthetic_cityscapes):
    """Configs carry custom_imports, so mmseg's shipped tool trains them."""
    tool = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')
    env = dict(
        os.environ, SYNTHETIC_CITYSCAPES_ROOT=synthetic_cityscapes + '/')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    result = run([
        PYTHON, tool, TINY_CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2'
    ], env)
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    assert osp.isfile(osp.join(tmp_path, 'iter_2.pth'))


def test_missing_config_is_one_clear_line(tmp_path):
    result = run([PYTHON, 'tools/train.py',
                  str(tmp_path / 'nope.py')], dict(os.environ))
    assert result.returncode != 0
    assert str(tmp_path / 'nope.py') in result.stderr
    assert 'Traceback' not in result.stderr


def test_checkpoint_of_another_model_is_one_clear_line(trained, tmp_path):
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    other = osp.join(
        REPO_ROOT, 'configs/contrafusionnet/'
        'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
    result = run(
        [PYTHON, 'tools/test.py', other, ckpt, '--work-dir',
         str(tmp_path)], trained['env'])
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('CheckpointMismatchError: ') and ckpt in last
    assert 'was not trained with this config' in last


def test_missing_data_root_is_one_clear_line(tmp_path):
    env = dict(os.environ, SYNTHETIC_CITYSCAPES_ROOT=str(tmp_path / 'none/'))
    result = run([
        PYTHON, 'tools/train.py', TINY_CONFIG, '--work-dir',
        str(tmp_path / 'wd')
    ], env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('DatasetError: ')
    assert str(tmp_path / 'none') in last and 'does not exist' in last


def val_metric_at(log: str, key: str) -> float:
    """The last validation value of ``key`` that the training log prints."""
    values = re.findall(rf'Iter\(val\) \[\d+/\d+\].*?{key}: ([\d.]+)', log)
    assert values, f'no validation {key} in the log'
    return float(values[-1])


def test_validation_and_test_of_the_checkpoint_agree(trained, tmp_path):
    """CPU processes keep their BN buffers in sync (no SyncBN without CUDA),
    so the score logged at iteration 6 is the saved checkpoint's score."""
    log = trained['resumed'].stdout + trained['resumed'].stderr
    assert 'IterSyncBuffersHook' in log
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    test_dir = str(tmp_path / 'test')
    result = run([
        'bash', 'tools/dist_test.sh', TINY_CONFIG, ckpt, '2', '--work-dir',
        test_dir
    ], trained['env'])
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    metrics = last_metrics(test_dir)
    for key in ('aAcc', 'mIoU'):
        assert val_metric_at(log, key) == pytest.approx(
            metrics[key], abs=1e-2), key


def test_tools_log_the_active_compat_fixes(trained):
    log = trained['first'].stdout + trained['first'].stderr
    assert re.search(
        r'mmseg_contrafusion.compat: active fixes: '
        r'safe_checkpoint_load, cpu_distributed', log)


@pytest.mark.parametrize('flag', ['--tta', '--aug-test'])
def test_test_time_augmentation(trained, tmp_path, flag):
    """The CAC seed tests with ``--aug-test`` (0.x); 1.x says ``--tta``."""
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    result = run([
        PYTHON, 'tools/test.py', TINY_CONFIG, ckpt, flag, '--eval', 'mIoU',
        '--work-dir',
        str(tmp_path)
    ], trained['env'])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'mIoU' in last_metrics(str(tmp_path))
    if flag == '--aug-test':
        assert ("--aug-test (0.x) runs as --tta (1.x) with the config's "
                'tta_pipeline') in log


def test_aug_test_without_a_tta_pipeline_uses_the_cac_scales(
        trained, tmp_path):
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    result = run([
        PYTHON, 'tools/test.py', TINY_CONFIG, ckpt, '--aug-test', '--work-dir',
        str(tmp_path), '--cfg-options', 'tta_pipeline=None'
    ], trained['env'])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert ('with scale factors [0.5, 0.75, 1.0, 1.25, 1.5, 1.75] + '
            'horizontal flip') in log


def test_format_only_writes_cityscapes_label_ids(trained, tmp_path):
    import numpy as np
    from cityscapesscripts.helpers.labels import trainId2label
    from PIL import Image

    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    out = str(tmp_path / 'submission')
    result = run([
        PYTHON, 'tools/test.py', TINY_CONFIG, ckpt, '--format-only',
        '--eval-options', f'imgfile_prefix={out}', '--work-dir',
        str(tmp_path / 'wd')
    ], trained['env'])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'per class results' not in log  # no metric computed
    assert not re.search(r'Iter\(test\).*mIoU', log)
    val_images = glob.glob(
        osp.join(trained['env']['SYNTHETIC_CITYSCAPES_ROOT'], 'leftImg8bit',
                 'val', '*', '*.png'))
    written = sorted(os.listdir(out))
    assert written == sorted(osp.basename(p) for p in val_images)
    label_ids = {trainId2label[t].id for t in range(19)}
    for name in written:
        values = set(np.unique(np.array(Image.open(osp.join(out, name)))))
        assert values <= label_ids, (name, values)


def test_eval_options_without_format_only_is_refused(trained, tmp_path):
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    result = run([
        PYTHON, 'tools/test.py', TINY_CONFIG, ckpt, '--eval-options',
        'imgfile_prefix=x', '--work-dir',
        str(tmp_path)
    ], trained['env'])
    assert result.returncode != 0
    assert '--eval-options is only read with --format-only' in result.stderr


def test_init_model_loads_a_trained_checkpoint(trained, monkeypatch):
    import torch

    from mmseg.apis import init_model
    from mmseg_contrafusion.utils import TRUST_CHECKPOINT_ENV
    monkeypatch.delenv(TRUST_CHECKPOINT_ENV, raising=False)
    monkeypatch.setenv('SYNTHETIC_CITYSCAPES_ROOT',
                       trained['env']['SYNTHETIC_CITYSCAPES_ROOT'])
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    model = init_model(TINY_CONFIG, ckpt, device='cpu')
    from mmseg_contrafusion.utils import load_checkpoint_file
    state = load_checkpoint_file(ckpt)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_test_tool_refuses_code_in_a_checkpoint(trained, tmp_path):
    import torch

    class RunsCode:

        def __reduce__(self):
            return (os.system, (f'touch {tmp_path / "code_ran"}', ))

    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    from mmseg_contrafusion.utils import load_checkpoint_file
    state = load_checkpoint_file(ckpt)['state_dict']
    evil = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=state, meta=dict(hook=RunsCode())), evil)
    result = run([
        PYTHON, 'tools/test.py', TINY_CONFIG, evil, '--work-dir',
        str(tmp_path / 'wd')
    ], trained['env'])
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('UntrustedCheckpointError: ') and evil in last
    assert 'Traceback' not in result.stderr
    assert not osp.exists(tmp_path / 'code_ran')


def test_trust_checkpoint_loads_a_legacy_file(trained, tmp_path):
    import argparse

    import torch
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    from mmseg_contrafusion.utils import load_checkpoint_file
    state = load_checkpoint_file(ckpt)['state_dict']
    legacy = str(tmp_path / 'legacy.pth')
    torch.save(
        dict(state_dict=state, meta=dict(args=argparse.Namespace())), legacy)
    refused = run([
        PYTHON, 'tools/test.py', TINY_CONFIG, legacy, '--work-dir',
        str(tmp_path / 'wd')
    ], trained['env'])
    assert refused.returncode != 0
    assert 'argparse.Namespace' in refused.stderr.strip().splitlines()[-1]
    trusted = run([
        PYTHON, 'tools/test.py', TINY_CONFIG, legacy, '--work-dir',
        str(tmp_path / 'wd'), '--trust-checkpoint'
    ], trained['env'])
    assert trusted.returncode == 0, (
        trusted.stdout[-3000:] + trusted.stderr[-3000:])


def test_truncated_checkpoint_is_one_line(trained, tmp_path):
    ckpt = osp.join(trained['work_dir'], 'iter_6.pth')
    broken = str(tmp_path / 'iter_6.pth')
    with open(ckpt, 'rb') as src, open(broken, 'wb') as dst:
        data = src.read()
        dst.write(data[:len(data) // 3])
    result = run([
        PYTHON, 'tools/test.py', TINY_CONFIG, broken, '--work-dir',
        str(tmp_path / 'wd')
    ], trained['env'])
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('CorruptCheckpointError: ') and broken in last
