"""tools/slurm_train.sh and slurm_test.sh: the srun command they build.

A stand-in ``srun`` on PATH records its arguments, one per line.
"""
import os
import os.path as osp
import subprocess

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/contrafusionnet/' \
    'contrafusionnet_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py'


@pytest.fixture
def srun(tmp_path):
    """Run a Slurm script with the stand-in srun; return srun's argv."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    record = tmp_path / 'srun_args'
    fake = bin_dir / 'srun'
    fake.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)

    def run(script, *args, **env):
        full_env = dict(
            os.environ,
            PATH=f'{bin_dir}:{os.environ["PATH"]}',
            PYTHON='python',
            **env)
        result = subprocess.run(['bash', f'tools/{script}', *args],
                                cwd=REPO_ROOT,
                                env=full_env,
                                capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stderr
        return record.read_text().splitlines()

    return run


def test_train_builds_the_mmseg_srun_command(srun):
    argv = srun(
        'slurm_train.sh',
        'gpu',
        'cfn',
        CONFIG,
        'work_dirs/cfn',
        '--resume',
        GPUS='16',
        GPUS_PER_NODE='8',
        SRUN_ARGS='--quotatype=auto --time=1:00:00')
    assert argv[:4] == ['-p', 'gpu', '--job-name=cfn', '--gres=gpu:8']
    for option in ('--ntasks=16', '--ntasks-per-node=8', '--cpus-per-task=5',
                   '--kill-on-bad-exit=1', '--quotatype=auto',
                   '--time=1:00:00'):
        assert option in argv
    python = argv.index('python')
    assert argv[python:] == [
        'python', '-u',
        osp.join('tools', 'train.py'), CONFIG, '--launcher', 'slurm',
        '--work-dir', 'work_dirs/cfn', '--resume'
    ]


def test_train_without_work_dir_and_defaults(srun):
    argv = srun('slurm_train.sh', 'gpu', 'cfn', CONFIG, '--amp', GPUS='4')
    assert '--gres=gpu:4' in argv and '--ntasks=4' in argv
    assert argv[-3:] == ['--launcher', 'slurm', '--amp']


def test_test_passes_checkpoint_and_options(srun):
    argv = srun(
        'slurm_test.sh',
        'gpu',
        'eval',
        CONFIG,
        'w.pth',
        '--eval',
        'mIoU',
        GPUS='1')
    assert '--ntasks=1' in argv and '--gres=gpu:1' in argv
    python = argv.index('python')
    assert argv[python + 2:] == [
        osp.join('tools', 'test.py'), CONFIG, 'w.pth', '--launcher', 'slurm',
        '--eval', 'mIoU'
    ]


def test_missing_arguments_give_usage():
    result = subprocess.run(['bash', 'tools/slurm_test.sh', 'gpu', 'job'],
                            cwd=REPO_ROOT,
                            capture_output=True,
                            text=True)
    assert result.returncode == 2 and 'usage:' in result.stderr
