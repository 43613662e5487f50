"""tools/analysis/benchmark_train.py on the tiny configs (64x64, 2 steps)."""
import importlib.util
import json
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFN_TINY = osp.join(
    REPO_ROOT, 'configs/contrafusionnet/'
    'contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py')
CAC_TINY = osp.join(
    REPO_ROOT,
    'configs/cac/contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256.py')
CAC_FCN = osp.join(REPO_ROOT,
                   'configs/cac/fcn-cac_hr48_4xb2-40k_cityscapes-512x1024.py')


def _tool(name):
    """Import tools/analysis/<name>.py once (the tools import each other)."""
    if name not in sys.modules:
        path = osp.join(REPO_ROOT, 'tools', 'analysis', name + '.py')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


bt = _tool('benchmark_train')


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_strip_contrast():
    cfg = Config.fromfile(CAC_TINY).model
    removed = bt.strip_contrast(cfg)
    assert sorted(removed) == ['decode_head.cac', 'decode_head.loss_contrast']
    assert cfg.decode_head.loss_contrast is None
    assert 'cac' not in cfg.decode_head
    # Same model as the parent config stripped: measured once.
    parent = Config.fromfile(CFN_TINY).model
    bt.strip_contrast(parent)
    assert cfg == parent
    fcn = Config.fromfile(CAC_FCN).model
    removed = bt.strip_contrast(fcn)
    assert fcn.decode_head.type == 'FCNHead' and 'cac' not in fcn.decode_head
    assert removed == ['decode_head.type=CACFCNHead', 'decode_head.cac']


def test_random_batch_labels_are_blocks():
    data = bt.random_batch(None, 2, (64, 96), 19)
    assert [tuple(x.shape) for x in data['inputs']] == [(3, 64, 96)] * 2
    label = data['data_samples'][0].gt_sem_seg.data
    assert label.shape == (1, 64, 96)
    assert label.max() < 19
    # Constant over each 32x32 block.
    assert (label[:, :32, :32] == label[0, 0, 0]).all()


def test_in_process_run_with_baseline_and_without_contrast(tmp_path):
    result = bt.run_benchmark(
        [CFN_TINY, CAC_TINY],
        shape=(64, 64),
        batch=2,
        warmup=1,
        runs=2,
        threads=1,
        baseline=osp.basename(CFN_TINY),
        without_contrast=True,
        in_process=True,
        log=lambda msg: None)
    rows = {r['name']: r for r in result['results']}
    assert list(rows) == [
        'contrafusionnet_tiny_2xb2-400it_synthetic-256x256',
        'contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256',
        'contrafusionnet_tiny_2xb2-400it_synthetic-256x256:no-contrast',
        'contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256:no-contrast',
    ]
    for row in rows.values():
        assert 'error' not in row, row.get('error')
        assert len(row['times_s']) == 2 and row['median_s'] > 0
        assert row['peak_mem_mb'] > 0 and row['step_mem_mb'] >= 0
    base, cac, stripped, stripped_cac = rows.values()
    assert base['time_ratio'] == 1.0
    assert 'decode.loss_cac' in cac['loss_keys']
    assert 'decode.loss_ce_weight' in cac['loss_keys']
    assert 'decode.loss_cac' not in base['loss_keys']
    assert 'decode.loss_contrast' in base['loss_keys']
    assert stripped['loss_keys'] == ['decode.loss_ce', 'decode.loss_dice',
                                     'loss']
    assert stripped_cac['same_model_as'] == stripped['name']
    assert sorted(stripped_cac['removed']) == [
        'decode_head.cac', 'decode_head.loss_contrast'
    ]
    assert cac['params_m'] > base['params_m'] > stripped['params_m']
    table = bt.format_table(result)
    assert 'x time' in table and ':no-contrast (=)' in table
    json.dumps(result)
    # A --without-contrast row can be the baseline.
    assert bt.find_row(result['results'],
                       'contrafusionnet_tiny_2xb2-400it_synthetic-256x256'
                       ':no-contrast') is stripped


def test_cli_measures_in_a_subprocess(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    bt.main([
        CAC_TINY, '--shape', '64', '--batch', '1', '--warmup', '0',
        '--runs', '1', '--threads', '1', '--out',
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


def test_bad_baseline_is_reported():
    with pytest.raises(SystemExit, match='--baseline'):
        bt.run_benchmark([CAC_TINY], shape=(32, 32), batch=1, warmup=0,
                         runs=1, threads=1, baseline='nope',
                         in_process=True, log=lambda msg: None)


def test_interleaved_run():
    result = bt.run_benchmark(
        [CAC_TINY], shape=(64, 64), batch=1, warmup=1, runs=3, threads=1,
        baseline=osp.basename(CAC_TINY) + ':no-contrast',
        without_contrast=True, interleave=True, with_memory=False,
        log=lambda msg: None)
    cac, stripped = result['results']
    for row in (cac, stripped):
        assert 'error' not in row, row.get('error')
        assert row['mode'] == 'interleaved' and len(row['times_s']) == 3
        assert len(row['cpu_times_s']) == 3 and row['cpu_median_s'] > 0
        assert 'step_mem_mb' not in row  # memory subprocesses skipped
    assert 'interleaved' in bt.format_table(result)
    assert stripped['time_ratio'] == 1.0
    assert 'decode.loss_cac' in cac['loss_keys']
    assert 'decode.loss_cac' not in stripped['loss_keys']
