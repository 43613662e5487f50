"""Every config in configs/cac builds and runs a forward with random init."""
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import PixelData

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import HOOKS, MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs/cac')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
TINY = osp.join(CONFIG_DIR,
                'contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256.py')


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: oversubscribed threads on a busy 2-core machine
    make the forwards here many times slower."""
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


def test_configs_found():
    names = {osp.basename(p) for p in CONFIGS}
    assert names == {
        'fcn_hr48_4xb2-40k_cityscapes-512x1024.py',
        'fcn-cac_hr48_4xb2-40k_cityscapes-512x1024.py',
        'contrafusionnet-cac_mit-b2-r50-psp_8xb1-160k_cityscapes-512x512.py',
        'contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256.py',
    }


def test_hrnet_pair_differs_only_by_cac():
    base = Config.fromfile(
        osp.join(CONFIG_DIR, 'fcn_hr48_4xb2-40k_cityscapes-512x1024.py'))
    cac = Config.fromfile(
        osp.join(CONFIG_DIR, 'fcn-cac_hr48_4xb2-40k_cityscapes-512x1024.py'))
    assert base.crop_size == cac.crop_size == (512, 1024)
    assert base.train_dataloader.batch_size == 2
    assert base.train_cfg.max_iters == cac.train_cfg.max_iters == 40000
    assert base.model.backbone.extra.stage4.num_channels == (48, 96, 192, 384)
    assert base.model.decode_head.type == 'FCNHead'
    assert cac.model.decode_head.type == 'CACFCNHead'
    head = cac.model.decode_head.to_dict()
    head.pop('cac')
    head['type'] = 'FCNHead'
    assert head == base.model.decode_head.to_dict()
    assert base.get('custom_hooks') is None


@pytest.mark.parametrize(
    'path', [p for p in CONFIGS if 'cac' in osp.basename(p).split('_')[0]],
    ids=osp.basename)
def test_cac_settings(path):
    cfg = Config.fromfile(path)
    cac = cfg.model.decode_head.cac
    assert cac.loss_cac.loss_name == 'loss_cac'
    assert cac.weight_branch_loss.loss_name == 'loss_ce_weight'
    assert cac.loss_cac.loss_weight == 0.4  # lambda
    assert cac.loss_cac.temperature == 0.1  # tau
    assert cac.loss_cac.base_temperature == 0.07  # tau_b
    assert cac.weight_branch_loss.loss_weight == 1.5  # beta
    hooks = [h for h in cfg.custom_hooks if h.type == 'LossWeightWarmupHook']
    assert len(hooks) == 1 and hooks[0].loss_names == ['loss_cac']
    HOOKS.build(hooks[0])
    if 'tiny' in path:
        assert hooks[0].start_iter == 20
    else:
        assert hooks[0].start_iter == 5000
        assert cac.sampler.max_samples_per_image == 512
        assert cac.sampler.threshold == 100
        assert cac.embed_dim == 256


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(path)
    assert 'mmseg_contrafusion' in cfg.custom_imports['imports']
    assert cfg.model.decode_head.num_classes == 19
    random_init(cfg.model)
    torch.manual_seed(0)
    # init_weights is left out for speed (tests/models covers it).
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 19, 16, 16)
    assert torch.isfinite(logits).all()


def test_tiny_config_trains_with_cac():
    cfg = Config.fromfile(TINY)
    random_init(cfg.model)
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).train()
    # Two 128x128 images of 4 class blocks: 32x32 embeddings, 256 pixels
    # per class (> the threshold of 50).
    samples = []
    for _ in range(2):
        label = torch.randint(0, 19, (1, 1, 2, 2))
        label = F.interpolate(label.float(), size=(128, 128)).long()[0]
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(dict(img_shape=(128, 128)))
        samples.append(sample)
    losses = model.loss(torch.randn(2, 3, 128, 128), samples)
    assert {
        'decode.loss_ce', 'decode.loss_dice', 'decode.loss_contrast',
        'decode.loss_cac', 'decode.loss_ce_weight'
    } <= set(losses)
    assert losses['decode.loss_cac'].item() != 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]
