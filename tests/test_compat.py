"""Each fix in mmseg_contrafusion.compat, with and without it.

"Without" runs in a subprocess with MMSEG_CONTRAFUSION_DISABLE_COMPAT naming
the fix, and must fail the way the stack fails upstream; "with" must work.
"""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_python(code: str, disable: str = '', nproc: int = 0, timeout=180):
    env = dict(
        os.environ,
        MMSEG_CONTRAFUSION_DISABLE_COMPAT=disable,
        PYTHONWARNINGS='ignore',
        OMP_NUM_THREADS='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    if nproc:
        script = osp.join(
            env.get('TMPDIR', '/tmp'), f'compat_probe_{os.getpid()}.py')
        with open(script, 'w') as f:
            f.write(textwrap.dedent(code))
        cmd = [
            sys.executable, '-m', 'torch.distributed.run',
            f'--nproc_per_node={nproc}', '--master_port=29533', script
        ]
    else:
        cmd = [sys.executable, '-c', textwrap.dedent(code)]
    return subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)


def test_fixes_apply_where_their_bug_exists():
    import torch

    import mmseg_contrafusion.compat as compat
    expected = {
        'safe_checkpoint_load', 'atomic_local_writes',
        'class_weight_with_ignored_pixels'
    }
    if not torch.cuda.is_available():
        expected.add('cpu_distributed')
    assert set(compat.apply()) == expected
    assert all(needed() for name, (_, needed) in compat.FIXES.items()
               if name in expected)
    line = compat.describe()
    assert line.startswith('mmseg_contrafusion.compat: active fixes: ')
    assert all(name in line for name in expected)


def test_a_fix_whose_bug_is_absent_is_not_applied(monkeypatch):
    import mmseg_contrafusion.compat as compat
    calls = []
    monkeypatch.setitem(compat.FIXES, 'probe',
                        (lambda: calls.append('fixed'), lambda: False))
    monkeypatch.setattr(compat, '_APPLIED', list(compat._APPLIED))
    assert 'probe' not in compat.apply() and calls == []
    monkeypatch.setitem(compat.FIXES, 'probe',
                        (lambda: calls.append('fixed'), lambda: True))
    assert 'probe' in compat.apply() and calls == ['fixed']


@pytest.fixture(scope='module')
def runner_style_checkpoint(tmp_path_factory):
    """A checkpoint carrying what mmengine's Runner writes into ``meta``."""
    import numpy as np
    import torch
    from mmengine.logging import HistoryBuffer
    path = str(tmp_path_factory.mktemp('ckpt') / 'iter_1.pth')
    torch.save(
        dict(
            state_dict={'w': torch.ones(2)},
            meta=dict(
                message_hub=dict(log_scalars={'loss': HistoryBuffer()}),
                seed=np.int64(0))), path)
    return path


LOAD_CHECKPOINT = '''
import mmseg_contrafusion
from mmengine.runner.checkpoint import _load_checkpoint
ckpt = _load_checkpoint({path!r}, map_location='cpu')
assert ckpt['state_dict']['w'].sum().item() == 2
print('LOADED')
'''


def test_safe_checkpoint_load(runner_style_checkpoint):
    code = LOAD_CHECKPOINT.format(path=runner_style_checkpoint)
    without = run_python(code, disable='safe_checkpoint_load')
    assert without.returncode != 0
    assert 'Weights only load failed' in without.stderr
    with_fix = run_python(code)
    assert with_fix.returncode == 0, with_fix.stderr[-2000:]
    assert 'LOADED' in with_fix.stdout


def test_missing_checkpoint_names_the_file(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint

    import mmseg_contrafusion  # noqa: F401
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'))


CPU_DDP = '''
import os, torch, torch.nn as nn
import mmseg_contrafusion
from mmengine.dist import init_dist, get_world_size
from mmengine.runner import Runner
from mmengine.model import BaseModel

class Tiny(BaseModel):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.SyncBatchNorm(4)
    def forward(self, x, data_samples=None, mode='tensor'):
        return self.bn(self.conv(x))

init_dist('pytorch', backend='nccl')  # what every mmseg runtime config says
assert get_world_size() == 2
runner = Runner.__new__(Runner)
runner._distributed = True
runner.cfg = dict()
ddp = Runner.wrap_model(runner, None, Tiny())
assert not any(isinstance(m, nn.SyncBatchNorm) for m in ddp.modules())
ddp(torch.randn(2, 3, 8, 8)).sum().backward()
print('DDP_OK', torch.distributed.get_backend())

# BN keeps one copy of its statistics per process: the runner gets a hook
# that averages them after every training iteration.
from types import SimpleNamespace
from mmseg_contrafusion.engine.hooks import IterSyncBuffersHook
runner._hooks = []
Runner.register_hooks(runner, dict(), [])
hooks = [h for h in runner._hooks if isinstance(h, IterSyncBuffersHook)]
assert len(hooks) == 1, runner._hooks
rank = torch.distributed.get_rank()
ddp.module.bn.running_mean.fill_(float(rank))
hooks[0].after_train_iter(SimpleNamespace(model=ddp), 0)
assert torch.allclose(ddp.module.bn.running_mean, torch.full((4,), 0.5))
print('BUFFERS_SYNCED')
'''


@pytest.mark.skipif(
    __import__('torch').cuda.is_available(), reason='CPU-only behaviour')
def test_cpu_distributed():
    without = run_python(CPU_DDP, disable='cpu_distributed', nproc=2)
    assert without.returncode != 0
    with_fix = run_python(CPU_DDP, nproc=2)
    out = with_fix.stdout + with_fix.stderr
    assert with_fix.returncode == 0, out[-3000:]
    # Both ranks print (their lines may interleave).
    assert out.count('DDP_OK') == 2 and out.count('gloo') >= 2
    assert out.count('BUFFERS_SYNCED') == 2
    # The process group is destroyed at exit: no abort at shutdown.
    assert 'terminate called' not in out


SAVE_KILLED_MIDWAY = '''
import builtins, os, torch
import mmseg_contrafusion
from mmengine.runner.checkpoint import save_checkpoint, _load_checkpoint
path = {path!r}
save_checkpoint(dict(state_dict=dict(w=torch.zeros(4))), path)  # good one


class Killed(BaseException):
    pass


real_fdopen, real_open = os.fdopen, builtins.open


class HalfWriter:
    """Writes half the bytes, then the job dies."""
    def __init__(self, f):
        self.f = f
    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        raise Killed()
    def __getattr__(self, name):
        return getattr(self.f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()


os.fdopen = lambda *a, **k: HalfWriter(real_fdopen(*a, **k))
builtins.open = lambda *a, **k: (HalfWriter(real_open(*a, **k))
                                 if 'w' in (a[1] if len(a) > 1
                                            else k.get('mode', 'r'))
                                 else real_open(*a, **k))
try:
    save_checkpoint(dict(state_dict=dict(w=torch.ones(1000))), path)
except Killed:
    pass
os.fdopen, builtins.open = real_fdopen, real_open
ckpt = _load_checkpoint(path, map_location='cpu')
assert ckpt['state_dict']['w'].sum().item() == 0, 'old checkpoint changed'
leftovers = [f for f in os.listdir(os.path.dirname(path))
             if f.endswith('.tmp')]
assert not leftovers, leftovers
print('INTACT')
'''


def test_atomic_local_writes(tmp_path):
    """A save killed midway leaves the previous checkpoint intact."""
    code = SAVE_KILLED_MIDWAY.format(path=str(tmp_path / 'iter_1.pth'))
    with_fix = run_python(code)
    assert with_fix.returncode == 0, with_fix.stderr[-3000:]
    assert 'INTACT' in with_fix.stdout
    without = run_python(code, disable='atomic_local_writes')
    assert without.returncode != 0  # truncated file: not loadable


def test_resume_falls_back_when_last_checkpoint_pointer_is_empty(tmp_path):
    import mmengine.runner.runner as runner_module

    import mmseg_contrafusion  # noqa: F401
    for it in (2, 4, 10):
        (tmp_path / f'iter_{it}.pth').write_bytes(b'complete')
    (tmp_path / 'last_checkpoint').write_text('')  # killed while writing
    assert runner_module.find_latest_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_10.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    assert runner_module.find_latest_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_4.pth')


CLASS_WEIGHTED_CE = '''
import torch
import mmseg_contrafusion
from mmseg.registry import MODELS
torch.manual_seed(0)
logits = torch.randn(2, 3, 4, 5)
label = torch.randint(0, 3, (2, 4, 5))
label[0, 0] = 255
weights = [0.5, 1.0, 2.0]
for avg_non_ignore in (False, True):
    cfg = dict(type='CrossEntropyLoss', avg_non_ignore=avg_non_ignore)
    ones = MODELS.build(dict(cfg, class_weight=[1.0] * 3))
    plain = MODELS.build(cfg)
    weighted = MODELS.build(dict(cfg, class_weight=weights))
    # All class weights 1: the loss without class weights.
    assert torch.allclose(ones(logits, label, ignore_index=255),
                          plain(logits, label, ignore_index=255))
    # Weighted mean: sum of w[y] * ce over the labelled pixels divided by
    # their class weights (+1 per ignored pixel unless avg_non_ignore).
    ce = torch.nn.functional.cross_entropy(
        logits, label, reduction='none', ignore_index=255)
    w = torch.tensor(weights)[label.clamp(max=2)] * (label != 255)
    factor = w.sum() + (0 if avg_non_ignore else int((label == 255).sum()))
    assert torch.allclose(
        weighted(logits, label, ignore_index=255), (w * ce).sum() / factor)
print('WEIGHTED')
'''


def test_class_weight_with_ignored_pixels():
    with_fix = run_python(CLASS_WEIGHTED_CE)
    assert with_fix.returncode == 0, with_fix.stderr[-3000:]
    assert 'WEIGHTED' in with_fix.stdout
    without = run_python(
        CLASS_WEIGHTED_CE, disable='class_weight_with_ignored_pixels')
    assert without.returncode != 0
    assert 'IndexError' in without.stderr
