"""Fixtures of the inference tests: a checkpoint of the tiny SegFormer."""
import os.path as osp

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory, synthetic_cityscapes) -> dict:
    """An (untrained) checkpoint of the tiny SegFormer config, as a bare
    ``state_dict`` entry: what inference reads does not depend on training.
    """
    from mmseg.apis import init_model
    from mmseg_contrafusion.apis import read_inference_config

    torch.manual_seed(0)
    model = init_model(read_inference_config(TINY_CONFIG), None, 'cpu')
    path = str(tmp_path_factory.mktemp('tiny_checkpoint') / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return dict(config=TINY_CONFIG, checkpoint=path, root=synthetic_cityscapes)


@pytest.fixture
def tiny(tiny_checkpoint, monkeypatch) -> dict:
    """:func:`tiny_checkpoint`, with the config's data root set."""
    monkeypatch.setenv('SYNTHETIC_CITYSCAPES_ROOT',
                       tiny_checkpoint['root'] + '/')
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    return tiny_checkpoint
