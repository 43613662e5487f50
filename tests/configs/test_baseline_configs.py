"""The baseline configs: conventions, a forward pass, parity with mmseg.

Every config under configs/{unet,deeplabv3,pspnet,hrnet,segformer} must
parse, follow the naming scheme, use the project's Cityscapes 512x512 data
and evaluation, and build a model that runs on a small image with random
init. The stock models must have exactly the parameters of mmseg's own
configs (same names and shapes).
"""
import glob
import json
import os.path as osp
import re

import pytest
import torch

from mmseg_contrafusion.analysis.configs import load_config, model_key
from mmseg_contrafusion.analysis.model_builders import (build_model,
                                                        inference_forward)
from mmseg_contrafusion.analysis.params import count_params
from mmseg_contrafusion.utils import strip_pretrained

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAMILIES = ('unet', 'deeplabv3', 'pspnet', 'hrnet', 'segformer')
CONFIGS = sorted(
    p for family in FAMILIES
    for p in glob.glob(osp.join(REPO_ROOT, 'configs', family, '*.py')))
NAME = re.compile(r'^(?P<algo>[a-z0-9-]+)_(?:(?P<backbone>[a-z0-9-]+)_)?'
                  r'(?P<gpus>\d+)xb(?P<batch>\d+)-(?P<schedule>[a-z0-9-]+)_'
                  r'cityscapes-512x512\.py$')
MMSEG_CONFIGS = osp.join(
    osp.dirname(__import__('mmseg').__file__), '.mim', 'configs')
# Our mmseg-style config -> mmseg's own config of the same model.
STOCK = {
    'unet/unet-s5-d16_fcn_4xb4-160k_cityscapes-512x512.py':
    'unet/unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py',
    'deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x512.py':
    'deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x512.py':
    'pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'hrnet/fcn_hr18_4xb2-40k_cityscapes-512x512.py':
    'hrnet/fcn_hr18_4xb2-40k_cityscapes-512x1024.py',
    'hrnet/fcn_hr48_4xb2-40k_cityscapes-512x512.py':
    'hrnet/fcn_hr48_4xb2-40k_cityscapes-512x1024.py',
    'segformer/segformer_mit-b0_8xb1-160k_cityscapes-512x512.py':
    'segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py',
}
CUSTOM_IMPORTS = ("custom_imports = dict(imports=['mmseg_contrafusion'], "
                  'allow_failed_imports=False)')


def rel(path):
    return osp.relpath(path, osp.join(REPO_ROOT, 'configs'))


def seed_parent(path):
    """The mmseg-style config of the model of a seed-schedule config."""
    prefix = osp.basename(path).split('_1xb1-100e_')[0]
    siblings = [
        p for p in glob.glob(osp.join(osp.dirname(path), prefix + '_*.py'))
        if p != path and '_1xb1-100e_' not in p
    ]
    assert len(siblings) == 1, (path, siblings)
    return siblings[0]


def network_key(cfg):
    """``model_key`` without the stochastic-depth rate: a training setting,
    which the seed-schedule configs take from the seed."""
    key = json.loads(model_key(cfg))
    for name in ('backbone', 'cnn_backbone'):
        if isinstance(key.get(name), dict):
            key[name].pop('drop_path_rate', None)
    return json.dumps(key, sort_keys=True)


@pytest.fixture(scope='module')
def models():
    """Built models, shared between tests (R50 builds are not free)."""
    return {}


def built(models, path):
    if path not in models:
        torch.manual_seed(0)
        models[path] = build_model(load_config(path), init_weights=False)
    return models[path]


def test_all_families_present():
    names = [rel(p) for p in CONFIGS]
    for family in FAMILIES:
        assert any(n.startswith(family + '/') for n in names), family
    assert set(STOCK) <= set(names)
    # Each model: an mmseg-style schedule and the seed's schedule.
    seed = [n for n in names if '_1xb1-100e_' in n]
    assert len(seed) * 2 == len(names), names


@pytest.mark.parametrize('path', CONFIGS, ids=rel)
def test_config_conventions(path):
    match = NAME.match(osp.basename(path))
    assert match, f'{rel(path)} does not follow the naming scheme'
    with open(path) as f:
        # Whitespace aside: yapf may wrap the line.
        assert ''.join(CUSTOM_IMPORTS.split()) in ''.join(f.read().split())
    cfg = load_config(path)
    assert cfg.custom_imports['imports'] == ['mmseg_contrafusion']
    assert tuple(cfg.crop_size) == (512, 512)
    assert tuple(cfg.model.data_preprocessor['size']) == (512, 512)
    assert cfg.model.decode_head.num_classes == 19
    if cfg.model.get('auxiliary_head'):
        assert cfg.model.auxiliary_head.num_classes == 19
    assert cfg.train_dataloader.batch_size == int(match['batch'])
    # Project data and evaluation, as ContraFusionNet (the seed schedule
    # with the seed's augmentation).
    data_base = ('cityscapes_512x512_seed.py'
                 if match['schedule'] == '100e' else 'cityscapes_512x512.py')
    data = load_config(
        osp.join(REPO_ROOT, 'configs/_base_/datasets', data_base))
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[split].dataset
        assert dataset.type == 'CheckedCityscapesDataset'
        assert dataset.pipeline == data[split].dataset.pipeline
    assert cfg.test_evaluator.type == 'IoUMetric'
    assert set(cfg.test_evaluator.iou_metrics) == {'mIoU', 'mDice'}
    if match['schedule'] == '100e':
        optimizer = cfg.optim_wrapper.optimizer
        assert optimizer.type == 'Adam' and optimizer.lr == 1e-4
        assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
        assert cfg.train_cfg.max_epochs == 100
        assert not cfg.param_scheduler
        assert 'paramwise_cfg' not in cfg.optim_wrapper
        parent = load_config(seed_parent(path))
        assert network_key(cfg) == network_key(parent)
        assert cfg.model.test_cfg.mode == 'slide'
    else:
        assert cfg.train_cfg.type == 'IterBasedTrainLoop'
        assert cfg.train_cfg.max_iters == int(match['schedule'][:-1]) * 1000


def test_seed_variants_use_the_contrafusionnet_seed_setting():
    """Seed variants: the same schedule, loader and runtime settings as the
    ContraFusionNet seed-schedule configs (all but model and test_cfg)."""
    bases = osp.join(REPO_ROOT, 'configs/_base_')
    schedule = load_config(osp.join(bases, 'schedules/schedule_seed_100e.py'))
    data = load_config(osp.join(bases, 'datasets/cityscapes_512x512_seed.py'))
    cfn = sorted(
        glob.glob(
            osp.join(
                REPO_ROOT, 'configs/contrafusionnet/'
                'contrafusionnet_*_1xb1-100e_cityscapes-512x512.py')))
    for path in CONFIGS:
        if '_1xb1-100e_' not in path:
            continue
        cfg = load_config(path)
        for key in ('optim_wrapper', 'param_scheduler', 'train_cfg',
                    'default_hooks', 'log_processor'):
            assert cfg[key] == schedule[key], (path, key)
        assert cfg.train_dataloader == data.train_dataloader, path
        for other in cfn:
            other_cfg = load_config(other)
            for key in ('optim_wrapper', 'train_cfg', 'train_dataloader',
                        'val_dataloader', 'test_evaluator', 'env_cfg'):
                assert cfg[key] == other_cfg[key], (path, other, key)
            assert cfg.model.test_cfg == other_cfg.model.test_cfg


def test_pretrained_init_is_kept():
    """Configs load ImageNet weights as mmseg does (tests strip them)."""
    for path in CONFIGS:
        cfg = load_config(path)
        name = osp.basename(path)
        model = cfg.model.to_dict()
        loads = strip_pretrained(model)
        if name.startswith(('unet', 'segformer_mit-b2w256')):
            assert loads == 0, name  # mmseg's U-Net; no weights for b2w256
        else:
            assert loads >= 1, name


DISTINCT = [p for p in CONFIGS if '_1xb1-100e_' not in p]


@pytest.mark.parametrize('path', DISTINCT, ids=rel)
def test_forward_small_input(models, path):
    model = built(models, path)
    inputs = torch.randn(1, 3, 32, 64)
    with torch.no_grad():
        logits = inference_forward(model, inputs)
    assert logits.shape == (1, 19, 32, 64)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize('ours', sorted(STOCK), ids=lambda p: p)
def test_params_match_mmseg_build(models, ours):
    """Same parameter names and shapes as mmseg's own config builds."""
    model = built(models, osp.join(REPO_ROOT, 'configs', ours))
    reference_cfg = load_config(osp.join(MMSEG_CONFIGS, STOCK[ours]))
    reference = build_model(reference_cfg, init_weights=False)
    assert reference_cfg.model.decode_head.num_classes == 19
    ours_shapes = {k: tuple(v.shape) for k, v in model.named_parameters()}
    ref_shapes = {k: tuple(v.shape) for k, v in reference.named_parameters()}
    assert ours_shapes == ref_shapes
    ref_buffers = {k: tuple(v.shape) for k, v in reference.named_buffers()}
    assert {k: tuple(v.shape) for k, v in model.named_buffers()} == ref_buffers
    # The inference path drops exactly the auxiliary head, where there is
    # one (counting needs a backward pass: only done where it matters).
    if getattr(model, 'auxiliary_head', None) is not None:
        ours_count = count_params(model, (32, 32))
        assert ours_count['total'] == sum(p.numel()
                                          for p in reference.parameters())
        assert ours_count['training_only_modules'] == ['auxiliary_head']
        aux = sum(p.numel() for p in model.auxiliary_head.parameters())
        assert ours_count['inference'] == ours_count['total'] - aux


def test_contrafusionnet_mit_widths(models):
    """segformer_mit-b2w256: ContraFusionNet's MiT, widths 64..512."""
    path = osp.join(
        REPO_ROOT, 'configs/segformer/'
        'segformer_mit-b2w256_8xb1-160k_cityscapes-512x512.py')
    model = built(models, path)
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512]
    assert [64 // f.shape[-1] for f in feats] == [4, 8, 16, 32]
    # MiT-B2 differs only in stage 3 (320 wide, 5 heads).
    b2 = build_model(
        load_config(
            osp.join(
                MMSEG_CONFIGS, 'segformer/'
                'segformer_mit-b2_8xb1-160k_cityscapes-1024x1024.py')),
        init_weights=False)
    ours = dict(model.named_parameters())
    differ = sorted({
        '.'.join(k.split('.')[:4])
        for k, v in b2.named_parameters() if ours[k].shape != v.shape
    })
    assert differ and all(
        d.startswith(('backbone.layers.2', 'backbone.layers.3.0',
                      'decode_head.convs.2')) for d in differ), differ
    assert len(model.backbone.layers) == 4
    assert [len(layer[1]) for layer in model.backbone.layers] == [3, 4, 6, 3]
