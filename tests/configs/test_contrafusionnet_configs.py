"""Every config in configs/contrafusionnet builds and runs a tiny forward."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(REPO_ROOT, 'configs/contrafusionnet/*.py')))


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: on a busy 2-core machine oversubscribed threads
    make the small forwards here many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_init(model_cfg) -> None:
    """No downloads: drop every pretrained checkpoint of the model."""
    model_cfg.pretrained = None
    for key in ('backbone', 'cnn_backbone'):
        if model_cfg.get(key) is not None:
            model_cfg[key].init_cfg = None
            model_cfg[key].pop('pretrained', None)


def test_configs_found():
    names = [osp.basename(p) for p in CONFIGS]
    assert 'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py' in names
    assert len(names) >= 10


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(path)
    assert 'mmseg_contrafusion' in cfg.custom_imports['imports']
    assert cfg.model.type == 'DualEncoder'
    assert cfg.model.decode_head.num_classes == 19
    assert cfg.train_dataloader.dataset.type == 'CheckedCityscapesDataset'
    losses = {d['loss_name']: d for d in cfg.model.decode_head.loss_decode}
    assert set(losses) == {'loss_ce', 'loss_dice'}
    # mmseg's DiceLoss does not mask ignored pixels; with the naive form they
    # get no gradient (see the README).
    assert losses['loss_dice'].naive_dice and \
        not losses['loss_dice'].use_sigmoid
    contrast = cfg.model.decode_head.get('loss_contrast')
    if contrast is not None:
        assert contrast.loss_name == 'loss_contrast'
    random_init(cfg.model)
    torch.manual_seed(0)
    # init_weights is left out for speed (tests/models covers it).
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 19, 16, 16)
    assert torch.isfinite(logits).all()


def test_main_configs_keep_pretrained_weights():
    main = [p for p in CONFIGS if 'tiny' not in p]
    for path in main:
        model = Config.fromfile(path).model
        for key in ('backbone', 'cnn_backbone'):
            if model.get(key) is not None:
                assert model[key].init_cfg.type == 'Pretrained', (path, key)
    tiny = [p for p in CONFIGS if 'tiny' in p]
    for path in tiny:
        model = Config.fromfile(path).model
        for key in ('backbone', 'cnn_backbone'):
            if model.get(key) is not None:
                assert model[key].init_cfg is None, (path, key)
