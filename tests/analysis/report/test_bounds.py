"""mmseg_contrafusion.analysis.report.bounds: lower bounds of the targets."""
import pytest

from mmseg_contrafusion.analysis.report.bounds import (decoder_flops,
                                                       encoder_bound,
                                                       onnx_bounds,
                                                       report_bounds)
from mmseg_contrafusion.analysis.report.checks import (encoder_bound_note,
                                                       make_check,
                                                       onnx_bound_note)

FLOPS = dict(flops=110e9, by_module=dict(backbone=40e9, cnn_backbone=60e9))
INFERENCE = dict(
    model_s=dict(min=3.5),
    transformer_encoder_s=dict(min=2.0),
    cnn_encoder_s=dict(min=1.0))
DEPLOYMENT = dict(
    model_pytorch_s=dict(min=1.0),
    segformer_pytorch_s=dict(min=0.6),
    model_onnxruntime_s=dict(min=0.7),
    segformer_onnxruntime_s=dict(min=0.4))
# 250 ms of Conv, 50 of matrix products, 100 of the rest (as onnx_op_times
# sums them).
ONNX = dict(
    threads=2,
    node_ms=400.0,
    conv_ms=250.0,
    matmul_ms=50.0,
    ops=[
        dict(op='Conv', ms=250.0),
        dict(op='Add', ms=60.0),
        dict(op='FusedMatMul', ms=30.0),
        dict(op='Gemm', ms=20.0),
        dict(op='Transpose', ms=40.0)
    ])


def test_encoder_bound_by_hand():
    assert decoder_flops(FLOPS) == dict(
        transformer=40e9, cnn=60e9, encoders=100e9, decoder=10e9, total=110e9)
    bound = encoder_bound(FLOPS, INFERENCE)
    # MiT 20 GFLOP/s, ResNet 60 GFLOP/s: the decoder's 10 GFLOPs take at
    # least 1/6 s next to the encoders' 3 s.
    assert bound['transformer_gflops_s'] == pytest.approx(20)
    assert bound['cnn_gflops_s'] == pytest.approx(60)
    assert bound['fastest_gflops_s'] == pytest.approx(60)
    assert bound['bound'] == pytest.approx(1 + (10 / 60) / 3)
    assert bound['flops_ratio'] == pytest.approx(0.1)
    # The decoder's own 0.5 s: 20 GFLOP/s.
    assert bound['decoder_gflops_s'] == pytest.approx(20)
    assert encoder_bound(FLOPS, dict(INFERENCE, model_s={})) is None
    note = encoder_bound_note(bound)
    assert note.startswith('lower bound 1.056') and '60 GFLOP/s' in note
    assert encoder_bound_note(None) == ''


def test_onnx_bounds_by_hand():
    bounds = onnx_bounds(ONNX, DEPLOYMENT)
    assert bounds == pytest.approx(
        dict(
            dense_ms=300.0,
            dense_share=0.75,
            onnx_over_eager=0.3,
            onnx_over_segformer_eager=0.5))
    assert onnx_bound_note(bounds,
                           'onnx_over_eager').startswith('lower bound 0.30')
    assert onnx_bound_note(None, 'onnx_over_eager') == ''


def test_report_bounds_pair_sections_by_threads():
    inference = [
        dict(threads=1, ratios=INFERENCE),
        dict(threads=2, ratios=INFERENCE)
    ]
    deployment = [
        dict(threads=1, ratios=DEPLOYMENT),
        dict(threads=2, ratios=DEPLOYMENT)
    ]
    bounds = report_bounds(
        dict(flops=FLOPS, onnx=[ONNX]), inference, deployment)
    assert set(bounds['inference']) == {1, 2}
    # Only 2 threads has an ONNX Runtime profile.
    assert set(bounds['deployment']) == {2}
    assert report_bounds(None, inference, deployment) == dict(
        inference={}, deployment={})


def test_a_ratio_below_its_bound_gets_no_verdict():
    noisy = make_check('t', 0.95, '<=', 1.05, lower_bound=1.06)
    assert noisy['status'] == 'NOISY' and noisy['passed'] is None
    assert noisy['detail'].startswith('below its lower bound')
    assert make_check('t', 1.07, '<=', 1.05, lower_bound=1.06)['status'] == \
        'MISS'
    assert make_check('t', 1.0, '<=', 1.05, lower_bound=0.9)['status'] == \
        'PASS'
