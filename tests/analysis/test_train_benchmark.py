"""mmseg_contrafusion.analysis.train_benchmark on the tiny configs."""
import json
import os.path as osp

import pytest

from mmseg_contrafusion.analysis.train_benchmark import (find_row,
                                                         format_table,
                                                         run_benchmark)


def test_in_process_run_with_baseline_and_without_contrast(tiny_configs):
    result = run_benchmark([tiny_configs['cfn'], tiny_configs['cac']],
                           shape=(64, 64),
                           batch=2,
                           warmup=1,
                           runs=2,
                           threads=1,
                           baseline=osp.basename(tiny_configs['cfn']),
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
    assert stripped['loss_keys'] == [
        'decode.loss_ce', 'decode.loss_dice', 'loss'
    ]
    assert stripped_cac['same_model_as'] == stripped['name']
    assert sorted(stripped_cac['removed']) == [
        'decode_head.cac', 'decode_head.loss_contrast'
    ]
    assert cac['params_m'] > base['params_m'] > stripped['params_m']
    table = format_table(result)
    assert 'x time' in table and ':no-contrast (=)' in table
    json.dumps(result)
    # A --without-contrast row can be the baseline.
    assert find_row(
        result['results'], 'contrafusionnet_tiny_2xb2-400it_synthetic-256x256'
        ':no-contrast') is stripped


def test_bad_baseline_is_reported(tiny_configs):
    with pytest.raises(SystemExit, match='--baseline'):
        run_benchmark([tiny_configs['cac']],
                      shape=(32, 32),
                      batch=1,
                      warmup=0,
                      runs=1,
                      threads=1,
                      baseline='nope',
                      in_process=True,
                      log=lambda msg: None)


def test_interleaved_run(tiny_configs):
    result = run_benchmark([tiny_configs['cac']],
                           shape=(64, 64),
                           batch=1,
                           warmup=1,
                           runs=3,
                           threads=1,
                           baseline=osp.basename(tiny_configs['cac']) +
                           ':no-contrast',
                           without_contrast=True,
                           interleave=True,
                           with_memory=False,
                           log=lambda msg: None)
    cac, stripped = result['results']
    for row in (cac, stripped):
        assert 'error' not in row, row.get('error')
        assert row['mode'] == 'interleaved' and len(row['times_s']) == 3
        assert len(row['cpu_times_s']) == 3 and row['cpu_median_s'] > 0
        assert 'step_mem_mb' not in row  # memory subprocesses skipped
    assert 'interleaved' in format_table(result)
    assert stripped['time_ratio'] == 1.0
    assert 'decode.loss_cac' in cac['loss_keys']
    assert 'decode.loss_cac' not in stripped['loss_keys']
