"""tools/analysis/benchmark_train.py: the front end, one tiny config.

The measuring code is tested in tests/analysis/test_train_benchmark.py and
test_train_step.py.
"""
import json
import os.path as osp

import pytest
import torch

from tool_loader import load_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CAC_TINY = osp.join(
    REPO_ROOT,
    'configs/cac/contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256.py')

bt = load_tool('tools/analysis/benchmark_train.py')


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_cli_measures_in_a_subprocess(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    bt.main([
        CAC_TINY, '--shape', '64', '--batch', '1', '--warmup', '0', '--runs',
        '1', '--threads', '1', '--out',
        str(out)
    ])
    result = json.loads(out.read_text())
    (row, ) = result['results']
    assert 'error' not in row, row.get('error')
    assert row['mode'] == 'subprocess'
    assert 'decode.loss_cac' in row['loss_keys']
    assert result['settings']['shape'] == [64, 64]
    assert row['step_mem_mb'] >= 0 and row['cpu_median_s'] > 0
    assert 'Median step' in capsys.readouterr().out
