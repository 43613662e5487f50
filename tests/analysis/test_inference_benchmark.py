"""mmseg_contrafusion.analysis.inference_benchmark: latency, memory, params."""
import json

import torch

from mmseg_contrafusion.analysis.inference_benchmark import (BenchmarkEntry,
                                                             format_table,
                                                             measure_rounds,
                                                             run_benchmark)


def test_benchmark_several_configs_one_run(tiny_configs):
    result = run_benchmark(
        [tiny_configs['tiny'], tiny_configs['copy'], tiny_configs['aux']],
        (64, 64),
        parts=['model', 'encoder', 'backbone'],
        runs=3,
        warmup=1,
        baseline='segformer_tiny_synthetic',
        threads=1,
        log=lambda msg: None)
    table = format_table(result)
    assert 'x baseline' in table and 'Median (ms)' in table
    data = json.loads(json.dumps(result))
    assert data['settings']['shape'] == [64, 64]
    assert data['env']['threads'] == 1
    rows = data['results']
    parts = [(r['name'], r['part']) for r in rows]
    assert parts[:3] == [('segformer_tiny_synthetic', 'model'),
                         ('segformer_tiny_synthetic', 'encoder'),
                         ('segformer_tiny_synthetic', 'backbone:backbone')]
    for row in rows:
        assert len(row['times_s']) == 3
        assert row['min_s'] <= row['median_s'] <= row['max_s']
        assert row['peak_mem_mb'] > 0
    base = rows[0]
    assert base['ratio_to_baseline'] == 1.0
    assert data['baseline']['median_s'] == base['median_s']
    # The copy builds the same model: measured once, figures shared.
    copies = [r for r in rows if r['name'].startswith('segformer_tiny-copy')]
    assert len(copies) == 3
    assert all(r['same_model_as'] == tiny_configs['tiny'] for r in copies)
    assert copies[0]['median_s'] == base['median_s']
    assert '(=): same model' in table
    # The auxiliary-head variant is a different model, measured on its own.
    aux = [r for r in rows if r['name'].startswith('segformer-aux')]
    assert aux and 'same_model_as' not in aux[0]
    assert aux[0]['params']['inference'] == base['params']['inference']
    assert data['settings']['schedule'] == 'interleaved'
    # One model at a time, without parameter counting or memory.
    single = run_benchmark([tiny_configs['tiny']], (32, 32),
                           runs=1,
                           warmup=0,
                           with_params=False,
                           with_memory=False,
                           sequential=True,
                           log=lambda msg: None)
    assert single['settings']['schedule'] == 'sequential'
    assert len(single['results'][0]['times_s']) == 1
    assert 'params' not in single['results'][0]


def test_tools_on_dual_encoder(tiny_configs):
    """encoder = both encoders; one backbone row per encoder; contrastive
    modules count as training-only."""
    result = run_benchmark([tiny_configs['cfn']], (64, 64),
                           parts=['model', 'encoder', 'backbone'],
                           runs=1,
                           warmup=0,
                           log=lambda msg: None)
    rows = {r['part']: r for r in result['results']}
    assert 'error' not in rows['model'], rows['model']
    backbones = sorted(p for p in rows if p.startswith('backbone:'))
    assert backbones == ['backbone:backbone', 'backbone:cnn_backbone']
    params = rows['model']['params']
    assert params['inference'] < params['total']
    assert params['training_only_modules']


def test_rounds_time_any_forward_callable():
    """Entries time plain callables (another backend's run) the same way;
    a failing part is reported and the others go on."""
    calls = []

    def broken():
        raise RuntimeError('no session')

    entry = BenchmarkEntry('other_backend.py', None, 'key')
    entry.inputs = torch.zeros(1, 3, 8, 8)
    entry.set_functions([('model', lambda: calls.append(1)),
                         ('encoder', broken)])
    measure_rounds([entry], runs=2, warmup=1, device='cpu', with_memory=True)
    model, encoder = entry.rows()
    assert len(calls) == 4 and len(model['times_s']) == 2
    assert model['peak_mem_mb'] >= 3 * 8 * 8 * 4 / 2**20
    assert encoder['error'] == 'RuntimeError: no session'
