"""mmseg_contrafusion.deployment.onnx_profile: ONNX Runtime's node times."""
import os.path as osp

import pytest
import torch

from mmseg_contrafusion.deployment import export_onnx
from mmseg_contrafusion.deployment.onnx_export import build_segmentor
from mmseg_contrafusion.deployment.onnx_profile import (CONV_OPS, MATMUL_OPS,
                                                        node_times,
                                                        onnx_op_times,
                                                        profile_in_own_process)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO_ROOT, 'configs/contrafusionnet/'
    'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
SHAPE = (64, 128)


def _node(name, op, ts, dur):
    return dict(
        cat='Node',
        name=f'{name}_kernel_time',
        ts=ts,
        dur=dur,
        args=dict(op_name=op))


def test_node_times_keep_the_runs_after_the_warmup():
    events = [
        dict(cat='Session', name='model_run', ts=0, dur=100),
        _node('conv_0', 'Conv', 10, 50),
        dict(cat='Session', name='model_run', ts=200, dur=100),
        _node('conv_0', 'Conv', 210, 40),
        _node('add_0', 'Add', 260, 5),
        # Outside every run (e.g. session initialisation): never counted.
        _node('conv_0', 'Conv', 500, 7),
        dict(
            cat='Node',
            name='conv_0_fence_before',
            ts=211,
            dur=1,
            args=dict(op_name='Conv')),
    ]
    assert node_times(events, skip=1) == {'Conv': [40], 'Add': [5]}
    assert node_times(events) == {'Conv': [50, 40], 'Add': [5]}


@pytest.fixture(scope='module')
def tiny_onnx(tmp_path_factory):
    torch.manual_seed(0)
    out = str(tmp_path_factory.mktemp('onnx') / 'tiny.onnx')
    export_onnx(build_segmentor(CONFIG), SHAPE, out)
    return out


def test_profile_sums_node_time_by_operator(tiny_onnx):
    result = onnx_op_times(tiny_onnx, SHAPE, threads=1, runs=2, warmup=1)
    ops = {o['op']: o for o in result['ops']}
    assert 'Conv' in ops and ops['Conv']['nodes'] > 0
    assert [o['ms'] for o in result['ops']] == sorted(
        (o['ms'] for o in result['ops']), reverse=True)
    assert result['node_ms'] == pytest.approx(
        sum(o['ms'] for o in result['ops']))
    assert result['conv_ms'] == pytest.approx(
        sum(o['ms'] for o in result['ops'] if o['op'] in CONV_OPS))
    assert result['matmul_ms'] == pytest.approx(
        sum(o['ms'] for o in result['ops'] if o['op'] in MATMUL_OPS))
    assert not set(CONV_OPS) & set(MATMUL_OPS)
    # One thread runs the nodes one after another inside each run.
    assert 0 < result['node_ms'] <= result['run_ms']
    assert result['runs'] == 2 and result['threads'] == 1
    with pytest.raises(ValueError, match='runs must be >= 1'):
        onnx_op_times(tiny_onnx, SHAPE, runs=0)


def test_profile_in_own_process(tiny_onnx):
    result = profile_in_own_process(tiny_onnx, SHAPE, threads=1, runs=1)
    assert result['conv_ms'] > 0 and result['threads'] == 1
    # The same graph: the same operator types and node counts.
    here = onnx_op_times(tiny_onnx, SHAPE, threads=1, runs=1)
    assert {o['op']: o['nodes'] for o in result['ops']} == \
        {o['op']: o['nodes'] for o in here['ops']}
