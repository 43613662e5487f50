"""Shared fixtures: a small generated Cityscapes-format dataset, converted."""
import importlib.util
import os
import os.path as osp
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(relative_path: str):
    """Import a script under ``tools/`` as a module."""
    path = osp.join(REPO_ROOT, relative_path)
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def synthetic_cityscapes(tmp_path_factory) -> str:
    """A generated, converted Cityscapes tree: 4 train / 2 val, 256x128."""
    root = str(tmp_path_factory.mktemp('synthetic_cityscapes'))
    from mmseg_contrafusion.datasets.cityscapes_conversion import \
        convert_cityscapes
    from mmseg_contrafusion.datasets.synthetic import make_synthetic_cityscapes
    make_synthetic_cityscapes(
        root, num_train=4, num_val=2, width=256, height=128, seed=0)
    convert_cityscapes(root)
    return root


@pytest.fixture
def tool_env(synthetic_cityscapes):
    """Environment for running the tools on the generated data."""
    env = dict(os.environ)
    env['SYNTHETIC_CITYSCAPES_ROOT'] = synthetic_cityscapes + '/'
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env['PYTHONWARNINGS'] = 'ignore'
    return env
