"""OpenMMLab's mim on the installed package: ``mim train / test / run /
search mmseg_contrafusion ...`` and ``mmseg_contrafusion::`` config lookups.

mim finds the package's ``.mim/{configs,tools,model-index.yml}`` (setup.py)
through the installed distribution. Every mim call runs as a subprocess
from a folder outside the repository, without network.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import yaml

import mmseg_contrafusion
from tool_loader import run_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIM = osp.join(osp.dirname(sys.executable), 'mim')
TINY = 'contrafusionnet_tiny_2xb2-400it_synthetic-256x256'
# Two iterations, validation and a checkpoint at the second, no worker
# processes.
NO_WORKERS = [
    f'{loader}.{key}'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for key in ('num_workers=0', 'persistent_workers=False')
]
SHORT_RUN = [
    'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=2'
] + NO_WORKERS


def mim(*args, env=None, cwd=None, timeout=300):
    result = subprocess.run([MIM, *args],
                            cwd=cwd,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=timeout)
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:])
    return result.stdout + result.stderr


def metafile_models() -> dict:
    """Model name -> entry, from the metafiles that model-index.yml imports."""
    with open(osp.join(REPO_ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    models = {}
    for path in index['Import']:
        with open(osp.join(REPO_ROOT, path)) as f:
            for model in yaml.safe_load(f)['Models']:
                models[model['Name']] = model
    return models


def test_mim_sees_the_package_mim_folder():
    """mim locates the installed package where setup.py put .mim."""
    from mim.utils import get_installed_path
    root = get_installed_path('mmseg_contrafusion')
    assert osp.realpath(root) == osp.realpath(
        osp.dirname(mmseg_contrafusion.__file__))
    for name in ('configs', 'tools', 'model-index.yml'):
        assert osp.exists(osp.join(root, '.mim', name)), name


def test_mim_search_lists_every_metafile_model(tmp_path):
    log = mim('search', 'mmseg_contrafusion', cwd=tmp_path)
    out = tmp_path / 'search.json'
    mim('search', 'mmseg_contrafusion', '--json', str(out), cwd=tmp_path)
    with open(out) as f:
        found = json.load(f)  # field -> {model name: value}
    models = metafile_models()
    assert set(found['config']) == set(models)
    for name, model in models.items():
        assert f'config id: {name}\n' in log
        assert found['config'][name] == model['Config']
        assert found['crop_size'][name] == model['Metadata']['Crop Size']
        assert found['parameters(M)'][name] == model['Metadata'][
            'Parameters (M)']


@pytest.fixture(scope='module')
def mim_trained(tmp_path_factory, synthetic_cityscapes):
    """``mim train`` of the tiny config, found by name in the package."""
    env = dict(
        os.environ,
        SYNTHETIC_CITYSCAPES_ROOT=synthetic_cityscapes + '/',
        PYTHONWARNINGS='ignore')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    tmp = tmp_path_factory.mktemp('mim')
    work_dir = str(tmp / 'train')
    log = mim(
        'train',
        'mmseg_contrafusion',
        TINY + '.py',
        '--work-dir',
        work_dir,
        '--cfg-options',
        *SHORT_RUN,
        env=env,
        cwd=tmp)
    return dict(env=env, tmp=tmp, work_dir=work_dir, log=log)


def test_mim_train_finds_the_config_and_trains(mim_trained):
    log = mim_trained['log']
    # mim resolved the bare name to the package's config and ran its tool.
    assert osp.join('configs', 'contrafusionnet', TINY + '.py') in log
    assert osp.join('tools', 'train.py') in log
    assert 'decode.loss_contrast' in log
    assert osp.isfile(osp.join(mim_trained['work_dir'], 'iter_2.pth'))


def test_mim_test_evaluates_the_checkpoint(mim_trained):
    test_dir = str(mim_trained['tmp'] / 'test')
    ckpt = osp.join(mim_trained['work_dir'], 'iter_2.pth')
    log = mim(
        'test',
        'mmseg_contrafusion',
        TINY + '.py',
        '--checkpoint',
        ckpt,
        '--work-dir',
        test_dir,
        '--cfg-options',
        *NO_WORKERS,
        env=mim_trained['env'],
        cwd=mim_trained['tmp'])
    assert osp.join('tools', 'test.py') in log
    metrics = glob.glob(osp.join(test_dir, '*', '*.json'))
    assert metrics, log[-3000:]
    with open(metrics[0]) as f:
        result = json.load(f)
    for key in ('aAcc', 'mIoU'):
        assert 0.0 <= result[key] <= 100.0


def test_mim_run_runs_an_analysis_tool(tmp_path):
    """``mim run mmseg_contrafusion params_flops ...`` runs
    tools/analysis/params_flops.py of the package."""
    from mim.utils import get_installed_path
    config = osp.join(
        get_installed_path('mmseg_contrafusion'), '.mim', 'configs',
        'contrafusionnet', TINY + '.py')
    out = tmp_path / 'params.json'
    log = mim(
        'run',
        'mmseg_contrafusion',
        'params_flops',
        config,
        '--no-flops',
        '--json',
        str(out),
        cwd=tmp_path)
    assert osp.join('analysis', 'params_flops.py') in log
    with open(out) as f:
        params = json.load(f)['results'][0]['params']
    expected = metafile_models()[TINY]['Metadata']['Parameters (M)']
    assert round(params['inference'] / 1e6, 2) == expected


def test_external_config_lookups(tmp_path):
    """``mmseg_contrafusion::family/config.py`` as a base of a user's
    config and through mmengine.hub.get_config; the model builds."""
    from mmengine.config import Config
    from mmengine.hub import get_config

    from mmseg.registry import MODELS
    user = tmp_path / 'my_config.py'
    user.write_text("_base_ = ['mmseg_contrafusion::contrafusionnet/"
                    f"{TINY}.py']\n"
                    'model = dict(decode_head=dict(channels=16))\n')
    cfg = Config.fromfile(str(user))
    assert cfg.model.decode_head.channels == 16
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'DualEncoder'
    hub_cfg = get_config(f'mmseg_contrafusion::contrafusionnet/{TINY}.py')
    assert hub_cfg.model.type == 'DualEncoder'
    assert hub_cfg.crop_size == (256, 256)


def test_a_config_on_an_external_base_trains(tmp_path, tool_env):
    """Every dict of a ``mmseg_contrafusion::`` base carries that scope;
    the runner builds all of them (model, hooks, visualizer, loops)."""
    user = tmp_path / 'my_config.py'
    user.write_text("_base_ = ['mmseg_contrafusion::contrafusionnet/"
                    f"{TINY}.py']\n")
    result = run_tool([
        'tools/train.py',
        str(user), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', *SHORT_RUN
    ], tool_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert osp.isfile(tmp_path / 'work' / 'iter_2.pth')
    assert 'decode.loss_contrast' in result.stdout + result.stderr
