"""mmseg_contrafusion.analysis.configs: finding configs, model identity."""
import glob
import json
import os.path as osp

import pytest

from mmseg_contrafusion.analysis.configs import (REPO_ROOT, config_stem,
                                                 expand_configs, load_config,
                                                 model_key, train_crop_size)
from mmseg_contrafusion.utils import strip_pretrained


def test_strip_pretrained_removes_only_weight_loading():
    cfg = dict(
        pretrained='open-mmlab://resnet50_v1c',
        backbone=dict(
            init_cfg=dict(type='Pretrained', checkpoint='x.pth'),
            layers=[
                dict(init_cfg=[
                    dict(type='Kaiming', layer='Conv2d'),
                    dict(type='Pretrained', checkpoint='y.pth', prefix='b.')
                ])
            ]),
        decode_head=dict(init_cfg=dict(type='Normal', std=0.01)))
    assert strip_pretrained(cfg) == 3
    assert cfg['pretrained'] is None
    assert cfg['backbone']['init_cfg'] is None
    assert cfg['backbone']['layers'][0]['init_cfg'] == [
        dict(type='Kaiming', layer='Conv2d')
    ]
    assert cfg['decode_head']['init_cfg'] == dict(type='Normal', std=0.01)


def test_expand_configs(tiny_configs, tmp_path):
    folder = osp.dirname(tiny_configs['aux'])
    found = expand_configs([folder, tiny_configs['aux']])
    # A folder gives its configs, each once however often it is named.
    assert sorted(found) == sorted(glob.glob(osp.join(folder, '*.py')))
    assert len(found) == len(set(found))
    assert expand_configs([osp.join(folder,
                                    '*aux*.py')]) == [tiny_configs['aux']]
    base = tmp_path / '_base_'
    base.mkdir()
    (base / 'skipped.py').write_text('x = 1\n')
    with pytest.raises(FileNotFoundError, match='no config files'):
        expand_configs([str(tmp_path)])
    with pytest.raises(FileNotFoundError, match='does not exist'):
        expand_configs([str(tmp_path / 'missing.py')])


def test_model_key_ignores_name_and_test_settings(tiny_configs):
    tiny = load_config(tiny_configs['tiny'])
    assert model_key(load_config(tiny_configs['copy'])) == model_key(tiny)
    assert model_key(load_config(tiny_configs['aux'])) != model_key(tiny)
    assert 'data_preprocessor' not in json.loads(model_key(tiny))
    tiled = load_config(tiny_configs['tiny'], {
        'model.test_cfg':
        dict(mode='slide', crop_size=(32, 32), stride=(16, 16))
    })
    assert model_key(tiled) == model_key(tiny)


def test_train_crop_size_and_stem(tiny_configs):
    assert train_crop_size(load_config(tiny_configs['cac'])) == (256, 256)
    assert config_stem(tiny_configs['tiny']) == 'segformer_tiny_synthetic'
    assert osp.isdir(osp.join(REPO_ROOT, 'configs'))
