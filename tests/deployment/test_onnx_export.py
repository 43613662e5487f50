"""mmseg_contrafusion.deployment.onnx_export: export, JSON, verification."""
import json
import os.path as osp

import numpy as np
import onnx
import pytest
import torch

from mmseg_contrafusion.analysis.report.hooks import training_only_modules
from mmseg_contrafusion.deployment import (LogitsAtInputSize, OnnxExportError,
                                           export_onnx, preprocess_image,
                                           verify_onnx)
from mmseg_contrafusion.deployment.onnx_export import build_segmentor

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(
    contrafusionnet='configs/contrafusionnet/'
    'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py',
    ecfd='configs/ecfd/ecfd_tiny_2xb2-400it_synthetic-256x256.py',
    segformer='tests/data/configs/segformer_tiny_synthetic.py')
SHAPE = (64, 128)


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


@pytest.mark.parametrize('name', list(CONFIGS))
def test_export_matches_pytorch_and_holds_no_training_module(name, tmp_path):
    model = build_segmentor(osp.join(REPO_ROOT, CONFIGS[name]))
    out = str(tmp_path / f'{name}.onnx')
    meta = export_onnx(model, SHAPE, out)
    graph = onnx.load(out).graph
    assert [i.name for i in graph.input] == ['input']
    assert [o.name for o in graph.output] == ['logits']
    names = [init.name for init in graph.initializer]
    assert names
    # The modules that inference must never run (the performance report's
    # definition: projection heads, CAC, MS/CS heads, losses, aux heads).
    training_only = training_only_modules(model)
    if name == 'contrafusionnet':
        assert 'decode_head.contrast' in training_only
    assert not [
        n for n in names
        for path in training_only if n.startswith(f'segmentor.{path}.')
    ]
    image = (np.random.RandomState(0).rand(100, 180, 3) * 255).astype(np.uint8)
    inputs = preprocess_image(image, SHAPE, model.cfg.model.data_preprocessor)
    check = verify_onnx(out, model, inputs)
    assert check['relative_error'] <= 1e-4
    assert check['argmax_agreement'] >= 0.9999
    with open(osp.splitext(out)[0] + '.json') as f:
        assert json.load(f) == json.loads(json.dumps(meta))
    assert meta['shape'] == list(SHAPE) and not meta['dynamic']
    assert len(meta['classes']) == len(meta['palette']) == 19
    assert meta['bgr_to_rgb'] is True and len(meta['mean']) == 3


def test_graph_is_what_encode_decode_returns():
    model = build_segmentor(osp.join(REPO_ROOT, CONFIGS['contrafusionnet']))
    inputs = torch.randn(1, 3, *SHAPE)
    metas = [dict(img_shape=SHAPE, ori_shape=SHAPE, pad_shape=SHAPE)]
    with torch.no_grad():
        expected = model.encode_decode(inputs, metas)
        got = LogitsAtInputSize(model)(inputs)
    assert got.shape == (1, 19, *SHAPE)
    assert torch.allclose(got, expected, atol=1e-5)


def test_dynamic_export_runs_at_another_size(tmp_path):
    model = build_segmentor(osp.join(REPO_ROOT, CONFIGS['segformer']))
    out = str(tmp_path / 'dynamic.onnx')
    assert export_onnx(model, SHAPE, out, dynamic=True)['dynamic']
    verify_onnx(out, model, torch.randn(2, 3, 96, 64))


def test_disagreement_is_refused(tmp_path):
    model = build_segmentor(osp.join(REPO_ROOT, CONFIGS['segformer']))
    out = str(tmp_path / 'm.onnx')
    export_onnx(model, SHAPE, out)
    other = build_segmentor(osp.join(REPO_ROOT, CONFIGS['segformer']))
    with pytest.raises(OnnxExportError, match='disagrees with PyTorch'):
        verify_onnx(out, other, torch.randn(1, 3, *SHAPE))
