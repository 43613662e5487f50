"""mmseg_contrafusion.deployment.onnx_inference: ONNX Runtime as a backend of
segment_images, against the PyTorch backend on the same weights."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmseg_contrafusion.apis import segment_images
from mmseg_contrafusion.deployment import OnnxExportError, export_onnx
from mmseg_contrafusion.deployment.onnx_export import build_segmentor

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')
# What the tiny config's test pipeline gives for the 256x128 test images.
PIPELINE_SHAPE = (128, 256)
SLIDE = {
    'model.test_cfg.mode': 'slide',
    'model.test_cfg.crop_size': (64, 64),
    'model.test_cfg.stride': (43, 43)
}


@pytest.fixture
def checkpoint(tmp_path, synthetic_cityscapes, monkeypatch):
    monkeypatch.setenv('SYNTHETIC_CITYSCAPES_ROOT', synthetic_cityscapes + '/')
    torch.manual_seed(0)
    model = build_segmentor(TINY_CONFIG)
    path = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def _labels(out_dir):
    return {
        osp.basename(p): np.asarray(Image.open(p))
        for p in sorted(glob.glob(osp.join(out_dir, 'labels', '*.png')))
    }


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_onnx_backend_gives_the_pytorch_labels(mode, checkpoint, tmp_path,
                                               synthetic_cityscapes):
    options = SLIDE if mode == 'slide' else None
    shape = (64, 64) if mode == 'slide' else PIPELINE_SHAPE
    onnx_file = str(tmp_path / 'tiny.onnx')
    export_onnx(
        build_segmentor(TINY_CONFIG, checkpoint, options), shape, onnx_file)
    images = osp.join(synthetic_cityscapes, 'leftImg8bit', 'val')
    torch_out, onnx_out = str(tmp_path / 'pt'), str(tmp_path / 'ort')
    segment_images(
        TINY_CONFIG,
        checkpoint, [images],
        torch_out,
        cfg_options=options,
        show_progress=False)
    result = segment_images(
        TINY_CONFIG,
        onnx_file, [images],
        onnx_out,
        cfg_options=options,
        show_progress=False,
        backend='onnxruntime')
    assert len(result.written) == 2
    expected, got = _labels(torch_out), _labels(onnx_out)
    assert list(got) == list(expected) and len(got) == 2
    for name, label in got.items():
        assert label.shape == expected[name].shape == (128, 256)
        assert (label == expected[name]).mean() >= 0.999, name


def test_fixed_export_larger_than_the_input_is_refused(checkpoint, tmp_path,
                                                       synthetic_cityscapes):
    onnx_file = str(tmp_path / 'big.onnx')
    export_onnx(
        build_segmentor(TINY_CONFIG, checkpoint), (256, 256), onnx_file)
    with pytest.raises(OnnxExportError, match='exported for 256x256'):
        segment_images(
            TINY_CONFIG,
            onnx_file, [osp.join(synthetic_cityscapes, 'leftImg8bit', 'val')],
            str(tmp_path / 'out'),
            show_progress=False,
            backend='onnxruntime')
