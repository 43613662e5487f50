"""The seed-schedule configs (``*_1xb1-100e_*``) train as the ContraFusionNet
seed does; the mmseg-style configs keep the stronger recipe.

Seed values from the project's ``reference/contrafusionnet-seed-audit.md``:
whole frames resized to 512x512 (aspect not kept; LANCZOS image, NEAREST
label, sections 2.5 and 4), random crop 512x512 and horizontal flip (the
seed README; no probability given, 0.5), no random rescaling and no
photometric distortion; MiT stochastic depth 0.2 in the ContraFusionNet
script and 0.0 in the SegFormer baseline script (section 2.1).
"""
import glob
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose

import mmseg_contrafusion  # noqa: F401
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEED = sorted(glob.glob(osp.join(REPO_ROOT, 'configs/*/*_1xb1-100e_*.py')))
MMSEG_STYLE_160K = sorted(
    glob.glob(osp.join(REPO_ROOT, 'configs/*/*_8xb1-160k_*.py')))
STRONG = ('RandomResize', 'PhotoMetricDistortion')
# MiT drop_path_rate of the seed, per model family.
SEED_DROP_PATH = {'contrafusionnet': 0.2, 'segformer': 0.0}


def rel(path):
    return osp.relpath(path, osp.join(REPO_ROOT, 'configs'))


def mmseg_style_sibling(path):
    """The config of the same model with its mmseg-style schedule."""
    prefix = osp.basename(path).split('_1xb1-100e_')[0]
    siblings = [
        p for p in glob.glob(osp.join(osp.dirname(path), prefix + '_*.py'))
        if p != path and '_1xb1-100e_' not in p
    ]
    assert len(siblings) == 1, (path, siblings)
    return siblings[0]


def types(pipeline):
    return [t['type'] for t in pipeline]


def test_configs_found():
    families = {rel(p).split('/')[0] for p in SEED}
    assert {
        'contrafusionnet', 'segformer', 'pspnet', 'deeplabv3', 'hrnet', 'unet'
    } <= families
    assert len(SEED) >= 9
    assert MMSEG_STYLE_160K


@pytest.mark.parametrize('path', SEED, ids=rel)
def test_seed_train_pipeline_is_the_seeds(path):
    cfg = Config.fromfile(path)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert not set(types(pipeline)) & set(STRONG), types(pipeline)
    assert types(pipeline) == [
        'LoadImageFromFile', 'LoadAnnotations', 'Resize', 'RandomCrop',
        'RandomFlip', 'PackSegInputs'
    ]
    resize, crop, flip = pipeline[2:5]
    # The whole frame to a fixed 512x512 first (aspect 2:1 -> 1:1), PIL
    # LANCZOS as the seed (labels: nearest).
    assert tuple(resize.scale) == (512, 512) and resize.keep_ratio is False
    assert resize.backend == 'pillow' and resize.interpolation == 'lanczos'
    assert tuple(crop.crop_size) == (512, 512)
    assert crop.get('cat_max_ratio', 1.) == 1.
    assert flip.prob == 0.5 and flip.get('direction',
                                         'horizontal') == 'horizontal'
    assert tuple(cfg.crop_size) == (512, 512)
    assert cfg.train_dataloader.batch_size == 1
    # Evaluation sees frames resized as in training; labels at full size.
    test = cfg.test_dataloader.dataset.pipeline
    assert types(test) == [
        'LoadImageFromFile', 'Resize', 'LoadAnnotations', 'PackSegInputs'
    ]
    assert test[1] == resize
    assert cfg.val_dataloader.dataset.pipeline == test


@pytest.mark.parametrize('path', SEED, ids=rel)
def test_seed_mit_drop_path_rate(path):
    cfg = Config.fromfile(path)
    backbone = cfg.model.backbone
    family = rel(path).split('/')[0]
    if backbone.type != 'MixVisionTransformer':
        assert family not in SEED_DROP_PATH
        return
    assert backbone.drop_path_rate == SEED_DROP_PATH[family]
    # The mmseg-style config of the same model keeps mmseg's 0.1.
    parent = Config.fromfile(mmseg_style_sibling(path))
    assert parent.model.backbone.drop_path_rate == 0.1


@pytest.mark.parametrize(
    'path',
    sorted(set(MMSEG_STYLE_160K) | {mmseg_style_sibling(p)
                                    for p in SEED}),
    ids=rel)
def test_mmseg_style_configs_keep_the_strong_recipe(path):
    cfg = Config.fromfile(path)
    pipeline = types(cfg.train_dataloader.dataset.pipeline)
    for name in STRONG + ('RandomCrop', 'RandomFlip'):
        assert name in pipeline, (name, pipeline)
    assert 'Resize' not in pipeline
    backbone = cfg.model.get('backbone') or {}
    if backbone.get('type') == 'MixVisionTransformer':
        assert backbone.drop_path_rate == 0.1


def test_seed_pipeline_runs(tmp_path):
    """The seed's train pipeline on a 2048x1024 frame: a 512x512 sample
    whose labels are nearest-resized (only values of the input)."""
    cfg = Config.fromfile(SEED[0])
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (1024, 2048, 3), dtype=np.uint8)
    label = np.zeros((1024, 2048), dtype=np.uint8)
    label[:, :1024] = 7
    label[512:, 1024:] = 255
    img_path, seg_path = str(tmp_path / 'a.png'), str(tmp_path / 'a_l.png')
    mmcv.imwrite(img, img_path)
    mmcv.imwrite(label, seg_path)
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    sample = pipeline(
        dict(
            img_path=img_path,
            seg_map_path=seg_path,
            reduce_zero_label=False,
            seg_fields=[]))
    assert tuple(sample['inputs'].shape) == (3, 512, 512)
    seg = sample['data_samples'].gt_sem_seg.data.numpy()
    assert seg.shape == (1, 512, 512)
    assert set(np.unique(seg)) == {0, 7, 255}
    # Left half 7 (or right half, if flipped): the aspect was not kept.
    assert (seg[0, :, :256] == 7).all() or (seg[0, :, 256:] == 7).all()
    # Test and TTA pipelines run too: 512x512 input (TTA: 0.5x..1.75x of
    # it, each also flipped).
    test = Compose(cfg.test_dataloader.dataset.pipeline)(
        dict(
            img_path=img_path,
            seg_map_path=seg_path,
            reduce_zero_label=False,
            seg_fields=[]))
    assert tuple(test['inputs'].shape) == (3, 512, 512)
    assert test['data_samples'].gt_sem_seg.data.shape[1:] == (1024, 2048)
    tta = Compose(cfg.tta_pipeline)(
        dict(
            img_path=img_path,
            seg_map_path=seg_path,
            reduce_zero_label=False,
            seg_fields=[]))
    sizes = sorted({tuple(x.shape[1:]) for x in tta['inputs']})
    assert len(tta['inputs']) == 12
    assert sizes[0] == (256, 256) and sizes[-1] == (896, 896)
