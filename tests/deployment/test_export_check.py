"""mmseg_contrafusion.deployment.export_check and check_exports.py."""
import glob
import json
import os.path as osp

import pytest

from mmseg_contrafusion.deployment.export_check import (onnx_size_mb,
                                                        training_only_in_graph)
from tool_loader import load_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_FUSION = osp.join(
    REPO_ROOT, 'configs/contrafusionnet/'
    'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
TINY_BASELINE = osp.join(REPO_ROOT,
                         'tests/data/configs/segformer_tiny_synthetic.py')


def test_training_only_in_graph_matches_whole_path_components():
    names = [
        'decode_head.contrast.projs.0.weight', 'decode_head.contrast',
        'decode_head.contrastive.weight', 'backbone.layer1.weight',
        'auxiliary_head.conv_seg.bias'
    ]
    found = training_only_in_graph(names,
                                   ['decode_head.contrast', 'auxiliary_head'])
    # 'decode_head.contrastive' only shares a prefix of characters.
    assert found == [
        'auxiliary_head.conv_seg.bias', 'decode_head.contrast',
        'decode_head.contrast.projs.0.weight'
    ]
    assert training_only_in_graph(names, []) == []


def test_onnx_size_counts_the_external_weights(tmp_path):
    graph = tmp_path / 'model.onnx'
    graph.write_bytes(b'g' * 2**20)
    assert onnx_size_mb(str(graph)) == 1.0
    # torch's exporter writes the weights to <file>.data.
    (tmp_path / 'model.onnx.data').write_bytes(b'w' * 3 * 2**20)
    assert onnx_size_mb(str(graph)) == 4.0


@pytest.fixture
def val_image(synthetic_cityscapes):
    return sorted(
        glob.glob(osp.join(synthetic_cityscapes,
                           'leftImg8bit/val/*/*.png')))[0]


def test_tool_exports_and_checks_each_config(tmp_path, val_image):
    tool = load_tool('tools/deployment/check_exports.py')
    md, out = tmp_path / 'table.md', tmp_path / 'rows.json'
    rows = tool.main([
        TINY_FUSION, TINY_BASELINE, '--shape', '64', '128', '--image',
        val_image, '--out-dir',
        str(tmp_path / 'onnx'), '--md',
        str(md), '--out',
        str(out)
    ])
    assert [r['config'] for r in rows] == [TINY_FUSION, TINY_BASELINE]
    for row in rows:
        assert row['passed'], row
        stem = osp.splitext(osp.basename(row['config']))[0]
        assert (tmp_path / 'onnx' / f'{stem}.onnx').is_file()
        assert row['relative_error'] <= 1e-4
        assert row['argmax_agreement'] >= 0.9999
        assert row['image'] == val_image
        # The graph's weights are found under the model's own parameter
        # names, so the training-only check below is not vacuous.
        assert row['named_initializers'] > 0
        assert row['training_only_in_graph'] == []
    fusion, baseline = rows
    assert 'decode_head.contrast' in fusion['training_only_modules']
    # The fusion model has more parameters at inference than the tiny
    # SegFormer (two encoders).
    assert fusion['params_m'] > baseline['params_m'] > 0
    table = md.read_text()
    assert table.count('| PASS |') == 2
    assert 'configs/contrafusionnet/contrafusionnet_tiny' in table
    assert json.loads(out.read_text()) == rows


def test_a_failing_config_is_reported_and_the_rest_still_run(
        tmp_path, val_image):
    broken = tmp_path / 'segformer_unknown-type.py'
    broken.write_text(f"_base_ = {TINY_BASELINE!r}\n"
                      "model = dict(type='NoSuchSegmentor')\n")
    tool = load_tool('tools/deployment/check_exports.py')
    md = tmp_path / 'table.md'
    with pytest.raises(SystemExit, match='1 of 2 configs failed'):
        tool.main([
            str(broken), TINY_BASELINE, '--shape', '64', '--image', val_image,
            '--out-dir',
            str(tmp_path / 'onnx'), '--md',
            str(md)
        ])
    failed, passed = md.read_text().splitlines()[2:]
    assert 'segformer_unknown-type.py' in failed
    assert 'FAIL: ' in failed and 'NoSuchSegmentor' in failed
    assert passed.endswith('| PASS |')
