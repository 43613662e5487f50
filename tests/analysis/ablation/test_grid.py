"""mmseg_contrafusion.analysis.ablation.grid and the shipped grid files."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg_contrafusion.analysis.ablation import GridError, load_grid
from mmseg_contrafusion.analysis.ablation.runs import run_options
from mmseg_contrafusion.analysis.configs import repo_path

REPO_ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
GRIDS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'ablations', '*.py')))


def _grid(tmp_path, text):
    path = tmp_path / 'grid.py'
    path.write_text(text)
    return str(path)


def test_variants_inherit_the_common_options(tmp_path):
    grid = load_grid(
        _grid(
            tmp_path, "base = 'a.py'\nseeds = 2\n"
            "cfg_options = {'train_cfg.max_iters': 5}\n"
            "variants = [dict(name='full'),\n"
            "            dict(name='b', config='b.py', seeds=3,\n"
            "                 cfg_options={'train_cfg.max_iters': 7})]\n"))
    full, other = grid.variants
    assert grid.reference == 'full' and grid.name == 'grid'
    assert (full.config, full.seeds, full.cfg_options) == ('a.py', 2, {
        'train_cfg.max_iters':
        5
    })
    assert (other.config, other.seeds, other.cfg_options) == ('b.py', 3, {
        'train_cfg.max_iters':
        7
    })


@pytest.mark.parametrize('text, message', [
    ("variants = [dict(name='a')]\n", "no 'base'"),
    ("base = 'a.py'\nvariants = [dict(nme='a')]\n",
     "unknown keys \\['nme'\\]"),
    ("base = 'a.py'\nvariants = [dict(name='a'), dict(name='a')]\n",
     'used twice'),
    ("base = 'a.py'\nreference = 'x'\nvariants = [dict(name='a')]\n",
     "no variant 'x'"),
])
def test_bad_grids_are_named(tmp_path, text, message):
    with pytest.raises(GridError, match=message):
        load_grid(_grid(tmp_path, text))
    with pytest.raises(GridError, match='does not exist'):
        load_grid(str(tmp_path / 'missing.py'))


@pytest.mark.parametrize('path', GRIDS, ids=osp.basename)
def test_shipped_grids_build_every_variant(path):
    """Every variant's config with its overrides is a valid config; the seed
    reaches mmengine and the contrastive losses."""
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules()
    grid = load_grid(path)
    assert len(grid.variants) >= 4
    for variant in grid.variants:
        options = run_options(variant, seed=3)
        assert options['randomness.seed'] == 3
        cfg = Config.fromfile(repo_path(variant.config))
        cfg.merge_from_dict(options)
        if 'loss_contrast' in cfg.model.decode_head and \
                cfg.model.decode_head.loss_contrast is not None:
            assert cfg.model.decode_head.loss_contrast.seed == 3
        if 'cityscapes-512' not in variant.config:  # tiny: build it
            cfg.model.pop('init_cfg', None)
            MODELS.build(cfg.model)


def test_empty_grid_and_unsafe_values_are_refused(tmp_path):
    from mmseg_contrafusion.analysis.ablation.runs import check_option_values

    with pytest.raises(GridError, match='no variants'):
        load_grid(_grid(tmp_path, "base = 'a.py'\nvariants = []\n"))
    check_option_values({'a': 1, 'b': None, 'c': 'sum', 'd': [1, 2]}, 'g')
    for value in (dict(type='X'), 'two words', 'a,b', [[1], [2]]):
        with pytest.raises(GridError, match='cannot pass through'):
            check_option_values({'k': value}, 'grid g, variant v')


def test_a_folder_of_another_run_is_refused(tmp_path):
    import json

    from mmseg_contrafusion.analysis.ablation.runs import (RunFailed, run_dir,
                                                           run_one)

    grid = load_grid(GRIDS[-1])  # the tiny grid
    variant = grid.variant('full')
    folder = tmp_path / run_dir('w', 'full', 0)
    folder.mkdir(parents=True)
    (folder / 'result.json').write_text(
        json.dumps(
            dict(
                config=variant.config,
                cfg_options={
                    **variant.cfg_options, 'train_cfg.max_iters': 1000
                })))
    with pytest.raises(RunFailed, match='train_cfg.max_iters'):
        run_one(variant, 0, str(tmp_path / 'w'), max_iters=400)
