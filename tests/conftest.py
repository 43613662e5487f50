"""Shared fixtures: a small generated Cityscapes-format dataset, converted."""
import os
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


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
