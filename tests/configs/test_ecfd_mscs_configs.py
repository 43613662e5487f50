"""Every config in configs/ecfd and configs/mscs builds and runs a forward."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import PixelData

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ECFD = sorted(glob.glob(osp.join(REPO_ROOT, 'configs/ecfd/*.py')))
MSCS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs/mscs/*.py')))


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: small forwards on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_init(node) -> None:
    """No downloads: drop every pretrained checkpoint, recursively."""
    if isinstance(node, dict):
        if isinstance(node.get('pretrained'), str):
            node['pretrained'] = None
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            random_init(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            random_init(item)


def build(cfg):
    model_cfg = copy.deepcopy(cfg.model)
    random_init(model_cfg)
    torch.manual_seed(0)
    return revert_sync_batchnorm(MODELS.build(model_cfg))


def aux_heads(model_cfg):
    heads = model_cfg.get('auxiliary_head') or []
    return heads if isinstance(heads, list) else [heads]


def test_configs_found():
    names = [osp.basename(p) for p in ECFD + MSCS]
    for name in ('ecfd-tiny_r50_8xb2-80k_cityscapes-512x1024.py',
                 'ecfd-small_r50_8xb2-80k_cityscapes-512x1024.py',
                 'ecfd-tiny-dualencoder_mit-b2-r50_8xb1-160k_'
                 'cityscapes-512x512.py',
                 'ecfd_tiny_2xb2-400it_synthetic-256x256.py',
                 'fcn-mscs_hr48_4xb2-80k_cityscapes-512x1024.py',
                 'contrafusionnet-mscs_mit-b2-r50-psp_8xb1-160k_'
                 'cityscapes-512x512.py',
                 'fcn-mscs_tiny-hr_2xb2-400it_synthetic-256x256.py'):
        assert name in names
    for folder in ('ecfd', 'mscs'):
        assert osp.isfile(osp.join(REPO_ROOT, 'configs', folder, 'README.md'))


@pytest.mark.parametrize('path', ECFD + MSCS, ids=osp.basename)
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(path)
    assert 'mmseg_contrafusion' in cfg.custom_imports['imports']
    assert cfg.model.decode_head.num_classes == 19
    crop = tuple(cfg.train_dataloader.dataset.pipeline[3].crop_size)
    assert tuple(cfg.model.data_preprocessor.size) == crop
    head = cfg.model.decode_head
    if head.type == 'ECFDHead':
        # The context position embedding is sized for the crop (1/16 grid).
        assert tuple(head.pos_shape) == (crop[0] // 16, crop[1] // 16)
    mscs = [
        h for h in aux_heads(cfg.model) if h.type == 'MultiScaleContrastHead'
    ]
    if osp.dirname(path).endswith('mscs'):
        assert mscs
    for h in mscs:
        loss = h.loss_contrast
        assert loss.temperature == 0.1 and loss.loss_weight == 0.1
        assert tuple(loss.scale_weights) == (1.0, 0.7, 0.4, 0.1)
        assert [tuple(p) for p in loss.cross_scale_pairs] == [(0, 3), (0, 2)]
    if 'synthetic' in osp.basename(path):
        # The CPU demo configs train from scratch: no download.
        assert cfg.model.get('pretrained') is None
        for key in ('backbone', 'cnn_backbone'):
            if cfg.model.get(key) is not None:
                assert cfg.model[key].get('init_cfg') is None, key
    model = build(cfg).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 19, 16, 16)
    assert torch.isfinite(logits).all()


def batch(num=2, size=64):
    inputs = torch.randn(num, 3, size, size)
    samples = []
    for _ in range(num):
        sample = SegDataSample(
            metainfo=dict(
                ori_shape=(size, size),
                img_shape=(size, size),
                pad_shape=(size, size),
                padding_size=[0, 0, 0, 0]))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 5, (1, size, size)))
        samples.append(sample)
    return inputs, samples


@pytest.mark.parametrize(
    'path', [p for p in ECFD + MSCS if 'synthetic' in osp.basename(p)],
    ids=osp.basename)
def test_tiny_config_loss_terms(path):
    model = build(Config.fromfile(path)).train()
    losses = model.loss(*batch())
    keys = {k for k in losses if k.endswith(('loss_ms', 'loss_cs'))}
    if '/mscs/' in path:
        assert keys and all(losses[k] > 0 for k in keys)
    else:
        assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    total, _ = model.parse_losses(losses)
    total.backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]


@pytest.mark.parametrize('variant', ['tiny', 'small'])
def test_ecfd_reproduction_configs_build_the_original_head(variant):
    """The R50 reproduction configs name the original's layout and init
    (configs/ecfd/README.md, "Differences from the original code")."""
    path = osp.join(REPO_ROOT, 'configs/ecfd',
                    f'ecfd-{variant}_r50_8xb2-80k_cityscapes-512x1024.py')
    head_cfg = Config.fromfile(path).model.decode_head
    assert head_cfg.c1_projection == 'conv'
    assert head_cfg.fpn_align_corners is True
    assert head_cfg.spatial_out_bias is True
    assert head_cfg.init == 'pytorch'
    assert head_cfg.align_corners is False and head_cfg.add_context is False
    torch.manual_seed(0)
    head = revert_sync_batchnorm(MODELS.build(copy.deepcopy(head_cfg)))
    low = head.gating.low_proj
    assert not low.with_norm and low.conv.bias is not None
    assert all(m.conv.bias is not None and m.with_norm
               for m in head.spatial_outs)
    assert head.fpn_align_corners and head.init == 'pytorch'
