"""Configs for the analysis tests: tiny models measured in seconds."""
import os.path as osp

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO_ROOT, 'tests', 'data', 'configs')


def _path(relative: str) -> str:
    return osp.join(REPO_ROOT, relative)


@pytest.fixture(autouse=True)
def single_thread():
    """One CPU thread per test (the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def tiny_configs():
    """Tiny SegFormer configs: itself, a copy (same model) and with an
    auxiliary head; the tiny ContraFusionNet, its CAC variant and CAC on
    an FCN head (built at 512x1024: only its config is read)."""
    return dict(
        tiny=_path('tests/data/configs/segformer_tiny_synthetic.py'),
        copy=osp.join(DATA, 'segformer_tiny-copy_1xb2-4it_synthetic-64x64.py'),
        aux=osp.join(DATA, 'segformer-aux_tiny_1xb2-4it_synthetic-64x64.py'),
        cfn=_path('configs/contrafusionnet/'
                  'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py'),
        cac=_path('configs/cac/'
                  'contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256.py'),
        cac_fcn=_path(
            'configs/cac/fcn-cac_hr48_4xb2-40k_cityscapes-512x1024.py'))
