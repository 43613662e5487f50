"""setup.py: the wheel carries .mim/{configs,tools,model-index.yml}, and
a fresh virtualenv with only that wheel (on top of the project's
environment) finds its configs through mim and ``mmseg_contrafusion::``.

The wheel is built from a copy of the source tree (so the working tree's
.mim symlinks and build/ stay as they are), without network:
``--no-build-isolation`` uses the environment's setuptools.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SOURCES = ('mmseg_contrafusion', 'configs', 'tools', 'setup.py', 'MANIFEST.in',
           'README.md', 'LICENSE', 'requirements.txt', 'constraints.txt',
           'model-index.yml')
TINY = 'contrafusionnet/contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py'


def run(cmd, cwd, timeout=300):
    result = subprocess.run(
        cmd,
        cwd=cwd,
        env=dict(os.environ, PYTHONWARNINGS='ignore'),
        capture_output=True,
        text=True,
        timeout=timeout)
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> str:
    """``pip wheel . --no-deps`` of a copy of the sources."""
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim',
                                    '*.egg-info')
    for name in SOURCES:
        path = osp.join(REPO_ROOT, name)
        if osp.isdir(path):
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copyfile(path, src / name)
    run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '--disable-pip-version-check', '-w',
        str(tmp / 'dist'),
        str(src)
    ], tmp)
    wheels = list((tmp / 'dist').glob('mmseg_contrafusion-*.whl'))
    assert len(wheels) == 1, wheels
    return str(wheels[0])


def test_wheel_carries_the_mim_files(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    mim = 'mmseg_contrafusion/.mim/'
    for name in ('model-index.yml', 'tools/train.py', 'tools/test.py',
                 'tools/analysis/params_flops.py', 'configs/' + TINY,
                 'configs/contrafusionnet/metafile.yaml',
                 'configs/_base_/default_runtime.py'):
        assert mim + name in names, name
    assert not [n for n in names if '__pycache__' in n or n.endswith('.pyc')]
    # Copies of every config, not links.
    configs = {
        osp.relpath(osp.join(root, f), REPO_ROOT)
        for root, _, files in os.walk(osp.join(REPO_ROOT, 'configs'))
        for f in files if f.endswith('.py')
    }
    assert {mim + c for c in configs} <= names


def test_wheel_in_a_fresh_virtualenv(wheel, tmp_path):
    venv = tmp_path / 'venv'
    # From the project's interpreter; the new environment sees the
    # project's packages (torch, mmcv, mmseg, mim) through a .pth line
    # after its own site-packages, so the wheel's package comes first.
    run([
        sys.executable, '-m', 'venv', '--system-site-packages',
        '--without-pip',
        str(venv)
    ], tmp_path)
    python = str(venv / 'bin' / 'python')
    site = run([
        python, '-c', 'import sysconfig; '
        "print(sysconfig.get_paths()['purelib'])"
    ], tmp_path).strip().splitlines()[-1]
    with open(osp.join(site, 'project_env.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    run([
        python, '-m', 'pip', 'install', '--no-deps', '--no-index',
        '--ignore-installed', '--disable-pip-version-check', wheel
    ], tmp_path)
    check = textwrap.dedent(f"""
        import os.path as osp
        import mmseg_contrafusion
        from mim.utils import get_installed_path
        from mmengine.config import Config
        from mmengine.hub import get_config
        from mmengine.registry import init_default_scope
        from mmseg.registry import MODELS
        root = osp.dirname(mmseg_contrafusion.__file__)
        assert root.startswith({str(venv)!r}), root
        assert get_installed_path('mmseg_contrafusion') == root
        cfg = Config.fromfile(osp.join(root, '.mim', 'configs', {TINY!r}))
        init_default_scope(cfg.default_scope)
        model = MODELS.build(cfg.model)
        assert type(model).__name__ == 'DualEncoder'
        hub = get_config('mmseg_contrafusion::' + {TINY!r})
        assert hub.filename.startswith(root), hub.filename
        print('built', type(MODELS.build(hub.model)).__name__)
        """)
    assert 'built DualEncoder' in run([python, '-c', check], tmp_path)
    search = run([python, '-m', 'mim', 'search', 'mmseg_contrafusion'],
                 tmp_path)
    assert 'config id: ' + osp.splitext(osp.basename(TINY))[0] in search
