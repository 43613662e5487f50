"""Every config in configs/cac builds and runs a forward with random init;
the reproduction pair trains through tools/train.py."""
import glob
import os
import os.path as osp
import re

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
from tool_loader import run_tool

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
        'fcn_hr48_4xb2-repro-40k_cityscapes-512x1024.py',
        'fcn-cac_hr48_4xb2-repro-40k_cityscapes-512x1024.py',
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
        assert cac.sampler.threshold == 100
        assert cac.embed_dim == 256
        if 'repro' in path:
            assert cac.sampler.budget_mode == 'per_batch'
            assert cac.sampler.max_samples_per_batch == 1024
            assert cac.sampler.per_class_cap == 100
        else:
            assert cac.sampler.max_samples_per_image == 512


def test_reproduction_pair_differs_only_by_cac_and_class_weights():
    """The released baseline is the clean one plus OHEM; the released CAC
    head is that baseline's head plus class weights and the CAC branch."""
    clean = Config.fromfile(
        osp.join(CONFIG_DIR, 'fcn_hr48_4xb2-40k_cityscapes-512x1024.py'))
    base = Config.fromfile(
        osp.join(CONFIG_DIR, 'fcn_hr48_4xb2-repro-40k_cityscapes-512x1024.py'))
    cac = Config.fromfile(
        osp.join(CONFIG_DIR,
                 'fcn-cac_hr48_4xb2-repro-40k_cityscapes-512x1024.py'))
    ohem = dict(type='OHEMPixelSampler', thresh=0.9, min_kept=131072)
    head = base.model.decode_head.to_dict()
    assert head.pop('sampler') == ohem
    assert head == clean.model.decode_head.to_dict()
    assert 'class_weight' not in base.model.decode_head.loss_decode
    head = cac.model.decode_head.to_dict()
    branch = head.pop('cac')
    assert len(head['loss_decode'].pop('class_weight')) == 19
    assert head['type'] == 'CACFCNHead'
    assert dict(head, type='FCNHead') == base.model.decode_head.to_dict()
    assert branch['weight_branch_loss']['class_weight'] == \
        cac.model.decode_head.loss_decode.class_weight
    assert branch['share_pixel_sampler'] and branch['proj_residual']
    assert branch['loss_cac']['reduction'] == 'class_bins'
    assert branch['loss_cac']['cross_image']
    assert not branch['loss_cac']['detach_pair_weights']
    assert branch['loss_cac']['label_downsample'] == 'nearest'
    for key in ('train_cfg', 'optim_wrapper', 'param_scheduler',
                'train_dataloader'):
        assert cac[key] == base[key] == clean[key], key


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


# Narrow HRNet (8/16/32/64) and CAC widths, 64x128 crops of the generated
# 256x128 scenes, 3 iterations, validation at the end; CAC from the second.
TINY_HRNET = [
    'model.pretrained=None',
    'model.backbone.extra.stage1.num_channels=(8,)',
    'model.backbone.extra.stage2.num_channels=(8,16)',
    'model.backbone.extra.stage3.num_channels=(8,16,32)',
    'model.backbone.extra.stage4.num_channels=(8,16,32,64)',
    'model.decode_head.in_channels=[8,16,32,64]',
    'model.decode_head.channels=120',
    'model.data_preprocessor.size=(64,128)',
    'train_dataloader.dataset.pipeline.2.scale=(256,128)',
    'train_dataloader.dataset.pipeline.3.crop_size=(64,128)',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.dataset.pipeline.1.scale=(256,128)',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'train_cfg.max_iters=3',
    'train_cfg.val_interval=3',
    'default_hooks.logger.interval=1',
]
TINY_CAC = [
    'model.decode_head.cac.embed_dim=16',
    'model.decode_head.cac.proj_channels=16',
    'custom_hooks.0.start_iter=1',
]


@pytest.mark.parametrize('name', [
    'fcn_hr48_4xb2-repro-40k_cityscapes-512x1024.py',
    'fcn-cac_hr48_4xb2-repro-40k_cityscapes-512x1024.py'
])
def test_reproduction_configs_train(name, synthetic_cityscapes, tmp_path):
    """Both reproduction configs train (CE with class weights and OHEM,
    the CAC terms) and validate through tools/train.py on generated data."""
    cac = name.startswith('fcn-cac')
    env = dict(
        os.environ,
        CITYSCAPES_ROOT=synthetic_cityscapes + '/',
        PYTHONWARNINGS='ignore',
        OMP_NUM_THREADS='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    result = run_tool([
        'tools/train.py',
        osp.join(CONFIG_DIR, name), '--work-dir',
        str(tmp_path), '--cfg-options'
    ] + TINY_HRNET + (TINY_CAC if cac else []), env)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert osp.isfile(osp.join(tmp_path, 'iter_3.pth'))
    assert 'mIoU' in log
    lines = re.findall(r'Iter\(train\) \[\d/3\].*', log)
    assert len(lines) == 3
    assert all('decode.loss_ce: ' in line for line in lines)
    cac_losses = [
        float(v) for v in re.findall(r'decode\.loss_cac: ([-\d.]+)', log)
    ]
    if cac:
        # Warm-up: 0 in the first iteration, then the CAC term.
        assert len(cac_losses) == 3
        assert cac_losses[0] == 0 and all(v != 0 for v in cac_losses[1:])
        assert 'decode.loss_ce_weight' in log
    else:
        assert cac_losses == []
