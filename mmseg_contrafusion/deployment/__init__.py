"""Deployment: ONNX export of any segmentor config and its check.

Not imported by ``import mmseg_contrafusion`` (it needs onnx, onnxruntime and
onnxscript); ``tools/deployment/`` holds the front ends.
"""
from .onnx_export import (LogitsAtInputSize, OnnxExportError, export_onnx,
                          preprocess_image, verify_onnx)
from .onnx_inference import OnnxSegmentor

__all__ = [
    'LogitsAtInputSize', 'OnnxExportError', 'OnnxSegmentor', 'export_onnx',
    'preprocess_image', 'verify_onnx'
]
