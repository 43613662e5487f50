"""Crash and resume: a run killed while saving continues exactly.

Two trainings of the tiny GroupNorm ContraFusionNet with MS/CS
(``tests/data/configs/contrafusionnet-mscs_tiny-gn_synthetic-64x64.py``:
6 iterations, a checkpoint every 2, seed 0, deterministic mode, no dropout,
no random transforms) run side by side through ``tools/train.py``:

- *straight*: iterations 1 to 6 without interruption;
- *crashed*: the same, but ``tests/data/crash_on_save.py`` kills it with
  SIGKILL in the middle of writing ``iter_6.pth`` (after ``iter_4.pth`` was
  saved). A truncated ``iter_8.pth`` is then planted in its work dir, and it
  is continued with ``--resume``.

The resumed run must restart from ``iter_4.pth`` (never from a partial
file) and end with the same weights, optimizer state, scheduler state,
iteration count and contrastive step counters as the straight run, having
logged the same losses for iterations 5 and 6. The contrastive losses draw
their pixels from per-image generators seeded by (seed, step counter, label
map) and the counter is in the checkpoint, so nothing random is left to
differ; the comparison is exact (``torch.equal``) on one CPU thread.
"""
import os
import os.path as osp
import re
import signal
import subprocess
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO_ROOT, 'tests/data/configs/'
    'contrafusionnet-mscs_tiny-gn_synthetic-64x64.py')
PYTHON = sys.executable
STEP_KEYS = ('decode_head.contrast.loss_contrast.seeder.step',
             'auxiliary_head.loss_contrast.seeder.step')


def train_cmd(work_dir: str, *extra: str, config: str = CONFIG) -> list:
    return [PYTHON, 'tools/train.py', config, '--work-dir', work_dir, *extra]


def output(proc: subprocess.Popen, timeout: int = 240) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def load(path: str) -> dict:
    # Weights only, with the package's allow-list: what --resume does.
    from mmseg_contrafusion.utils import load_checkpoint_file
    return load_checkpoint_file(path, map_location='cpu', trust=False)


def logged_iters(log: str) -> dict:
    """``{iteration: 'lr ... loss ...'}`` of the training log lines."""
    found = {}
    for line in log.splitlines():
        match = re.search(
            r'Iter\(train\) \[(\d+)/6\]\s+lr: (\S+).*?'
            r'(loss: .*)$', line)
        if match:
            found[int(match.group(1))] = (
                match.group(2) + ' ' + match.group(3).strip())
    return found


@pytest.fixture(scope='module')
def runs(tmp_path_factory, synthetic_cityscapes):
    env = dict(os.environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env.pop('MMSEG_CONTRAFUSION_DISABLE_COMPAT', None)
    env.update(
        SYNTHETIC_CITYSCAPES_ROOT=synthetic_cityscapes + '/',
        # One thread: the same reduction order in every run (and fair on a
        # shared 2-core machine, where both runs go at once).
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONWARNINGS='ignore',
        PYTHONPATH=os.pathsep.join(
            p for p in (osp.join(REPO_ROOT, 'tests', 'data'), REPO_ROOT,
                        env.get('PYTHONPATH')) if p))
    straight_dir = str(tmp_path_factory.mktemp('straight'))
    crashed_dir = str(tmp_path_factory.mktemp('crashed'))
    common = dict(
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    straight = subprocess.Popen(train_cmd(straight_dir), env=env, **common)
    # The same config plus the killing module (custom_imports are imported
    # when the config file is read, so not through --cfg-options).
    crash_config = str(tmp_path_factory.mktemp('config') / 'crash.py')
    with open(crash_config, 'w') as f:
        f.write(f'_base_ = [{CONFIG!r}]\n'
                "custom_imports = dict(imports=['mmseg_contrafusion', "
                "'crash_on_save'], allow_failed_imports=False)\n")
    crashed = subprocess.Popen(
        train_cmd(crashed_dir, config=crash_config),
        env=dict(env, CONTRAFUSION_CRASH_ON_SAVE='iter_6.pth'),
        **common)
    straight_log, crashed_log = output(straight), output(crashed)
    assert straight.returncode == 0, straight_log[-3000:]
    after_crash = sorted(os.listdir(crashed_dir))
    with open(osp.join(crashed_dir, 'last_checkpoint')) as f:
        last_after_crash = f.read().strip()
    # A checkpoint cut in half that last_checkpoint does not name.
    with open(osp.join(crashed_dir, 'iter_4.pth'), 'rb') as f:
        data = f.read()
    with open(osp.join(crashed_dir, 'iter_8.pth'), 'wb') as f:
        f.write(data[:len(data) // 2])
    resumed = subprocess.run(
        train_cmd(crashed_dir, '--resume'), env=env, timeout=240, **common)
    return dict(
        straight_dir=straight_dir,
        crashed_dir=crashed_dir,
        straight_log=straight_log,
        crashed_log=crashed_log,
        crashed_rc=crashed.returncode,
        after_crash=after_crash,
        last_after_crash=last_after_crash,
        resumed=resumed)


def test_kill_while_saving_leaves_no_partial_checkpoint(runs):
    assert runs['crashed_rc'] == -signal.SIGKILL, runs['crashed_log'][-3000:]
    files = runs['after_crash']
    # iter_6.pth was being written: only its half-written temporary file
    # exists, under a name --resume never considers.
    assert 'iter_6.pth' not in files
    partial = [f for f in files if f.startswith('.iter_6.pth.')]
    assert len(partial) == 1, files
    assert runs['last_after_crash'] == osp.join(runs['crashed_dir'],
                                                'iter_4.pth')
    for it in (2, 4):
        ckpt = load(osp.join(runs['crashed_dir'], f'iter_{it}.pth'))
        assert ckpt['meta']['iter'] == it


def test_resume_continues_from_the_last_complete_checkpoint(runs):
    resumed = runs['resumed']
    log = resumed.stdout
    assert resumed.returncode == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 4' in log, log[-3000:]
    assert sorted(logged_iters(log)) == [5, 6]
    assert osp.isfile(osp.join(runs['crashed_dir'], 'iter_6.pth'))
    with open(osp.join(runs['crashed_dir'], 'last_checkpoint')) as f:
        assert f.read().strip().endswith('iter_6.pth')


def test_resumed_run_matches_the_uninterrupted_run(runs):
    assert runs['resumed'].returncode == 0, runs['resumed'].stdout[-3000:]
    straight = load(osp.join(runs['straight_dir'], 'iter_6.pth'))
    resumed = load(osp.join(runs['crashed_dir'], 'iter_6.pth'))

    # Iteration count and seed.
    for ckpt in (straight, resumed):
        assert ckpt['meta']['iter'] == 6
        # The message hub holds the 0-based index of the last iteration.
        assert ckpt['message_hub']['runtime_info']['iter'] == 5
    assert straight['meta']['seed'] == resumed['meta']['seed'] == 0

    # The contrastive samplers' state: one step per training iteration.
    for key in STEP_KEYS:
        assert int(straight['state_dict'][key]) == 6
        assert int(resumed['state_dict'][key]) == 6

    # Weights, exactly.
    assert straight['state_dict'].keys() == resumed['state_dict'].keys()
    for key, value in straight['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key

    # Optimizer state (AdamW moments and step counts) and learning rates.
    opt_a, opt_b = straight['optimizer'], resumed['optimizer']
    assert opt_a['param_groups'] == opt_b['param_groups']
    assert opt_a['state'].keys() == opt_b['state'].keys()
    for idx, state in opt_a['state'].items():
        for name, value in state.items():
            assert torch.equal(
                torch.as_tensor(value),
                torch.as_tensor(opt_b['state'][idx][name])), (idx, name)

    # Parameter schedulers.
    assert straight['param_schedulers'] == resumed['param_schedulers']

    # The same learning rates and losses were logged for iterations 5, 6.
    before = logged_iters(runs['straight_log'])
    after = logged_iters(runs['resumed'].stdout)
    assert sorted(before) == list(range(1, 7))
    assert {it: before[it] for it in (5, 6)} == after
