"""A misspelt key in a DualEncoder / ContrastiveFusionHead config is named."""
import copy
import os.path as osp

import pytest
from mmengine.config import Config

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(
    REPO_ROOT, 'configs/contrafusionnet/'
    'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')

register_all_modules()


@pytest.mark.parametrize('where', ['segmentor', 'decode_head'])
def test_unknown_key_names_class_and_key(where):
    model = copy.deepcopy(Config.fromfile(TINY).model)
    target = model if where == 'segmentor' else model['decode_head']
    target['fusoin'] = 'sum'  # typo of `fusion`
    with pytest.raises(TypeError) as info:
        MODELS.build(model)
    message = str(info.value)
    assert 'fusoin' in message
    # The head passes unknown keys on to mmseg's BaseDecodeHead.
    assert ('DualEncoder' if where == 'segmentor' else 'DecodeHead') in message
