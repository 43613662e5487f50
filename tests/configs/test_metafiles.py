"""model-index.yml and configs/*/metafile.yaml: what mim and mmengine read.

Every shipped config is in exactly one metafile (the ablation grids under
configs/ablations/ are inputs of tools/analysis/ablation.py, not configs to
train, and configs/_base_/ are bases), every entry's config exists, and the
recorded metadata agree with the configs and with the project's
parameter counter.
"""
import glob
import os.path as osp
import re
from collections import Counter

import pytest
import yaml
from mmengine.config import Config

from mmseg_contrafusion.analysis.flops import analyse_config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_yaml(path: str):
    with open(osp.join(REPO_ROOT, path)) as f:
        return yaml.safe_load(f)


def shipped_configs() -> list:
    return sorted(
        osp.relpath(p, REPO_ROOT)
        for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*', '*.py'))
        if osp.basename(osp.dirname(p)) not in ('_base_', 'ablations'))


def metafiles() -> list:
    return sorted(
        osp.relpath(p, REPO_ROOT) for p in glob.glob(
            osp.join(REPO_ROOT, 'configs', '*', 'metafile.yaml')))


def models() -> list:
    """(metafile, model entry) for every model of every metafile."""
    return [(path, model) for path in metafiles()
            for model in load_yaml(path)['Models']]


def test_model_index_imports_every_metafile():
    index = load_yaml('model-index.yml')
    assert sorted(index['Import']) == metafiles()


def test_every_shipped_config_is_in_exactly_one_metafile():
    counts = Counter(model['Config'] for _, model in models())
    assert sorted(counts) == shipped_configs()
    assert [c for c, n in counts.items() if n > 1] == []


def test_entries_name_existing_configs_of_their_folder():
    for path, model in models():
        config = model['Config']
        assert osp.isfile(osp.join(REPO_ROOT, config)), config
        assert osp.dirname(config) == osp.dirname(path), config
        assert model['Name'] == osp.splitext(osp.basename(config))[0]


def test_config_file_names_are_unique():
    """mim train/test find a bare config name anywhere in the package."""
    names = Counter(osp.basename(c) for c in shipped_configs())
    assert [n for n, k in names.items() if k > 1] == []


def test_collections_and_required_metadata():
    for path in metafiles():
        meta = load_yaml(path)
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert model['In Collection'] in collections, model['Name']
            assert 'Weights' not in model, 'no weights are released'
            for key in ('Training Data', 'Batch Size', 'Architecture',
                        'Training Resources', 'Crop Size', 'Parameters (M)'):
                assert key in model['Metadata'], (model['Name'], key)


def test_results_carry_their_source():
    for _, model in models():
        if 'Results' in model:
            assert model.get('Results Source'), model['Name']


@pytest.mark.parametrize('path,model', models(), ids=lambda v: '')
def test_metadata_agree_with_the_config(path, model):
    cfg = Config.fromfile(osp.join(REPO_ROOT, model['Config']))
    meta = model['Metadata']
    assert meta['Crop Size'] == 'x'.join(map(str, cfg.crop_size))
    gpus, per_gpu = re.search(r'_(\d+)xb(\d+)-', model['Name']).groups()
    assert int(per_gpu) == cfg.train_dataloader.batch_size
    assert meta['Batch Size'] == int(gpus) * int(per_gpu)


TINY = [(path, model) for path, model in models()
        if model['Metadata']['Crop Size'] == '256x256']


@pytest.mark.parametrize('path,model', TINY, ids=lambda v: '')
def test_parameters_are_the_tools_count(path, model):
    """The tiny configs, recounted by tools/analysis/params_flops.py's
    code (the full-size ones take minutes on a CPU)."""
    result = analyse_config(
        osp.join(REPO_ROOT, model['Config']), (256, 256), flops=False)
    params = result['params']
    assert model['Metadata']['Parameters (M)'] == round(
        params['inference'] / 1e6, 2)
    assert model['Metadata']['Training Parameters (M)'] == round(
        params['total'] / 1e6, 2)
