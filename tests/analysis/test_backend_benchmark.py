"""mmseg_contrafusion.analysis.backend_benchmark: a process per backend."""
import json

import pytest

from mmseg_contrafusion.analysis.backend_benchmark import run_backends
from mmseg_contrafusion.analysis.inference_benchmark import format_table


def test_both_backends_in_their_own_processes(tiny_configs):
    result = run_backends([tiny_configs['tiny'], tiny_configs['cfn']],
                          (64, 64),
                          runs=2,
                          warmup=1,
                          threads=1,
                          baseline='segformer_tiny_synthetic',
                          log=lambda msg: None)
    json.dumps(result)
    rows = {(r['name'], r['backend']): r for r in result['results']}
    assert set(rows) == {(name, backend)
                         for name in ('segformer_tiny_synthetic',
                                      'contrafusionnet_tiny_2xb2-400it_'
                                      'synthetic-256x256')
                         for backend in ('pytorch', 'onnxruntime')}
    for row in rows.values():
        assert 'error' not in row, row.get('error')
        assert len(row['times_s']) == 2 and row['median_s'] > 0
        assert row['ratio_to_baseline'] > 0
    assert rows['segformer_tiny_synthetic',
                'pytorch']['ratio_to_baseline'] == 1.0
    assert result['baseline']['backend'] == 'pytorch'
    # Each worker ran with the requested thread count.
    assert {env['threads'] for env in result['backend_env'].values()} == {1}
    table = format_table(result)
    assert '| onnxruntime |' in table and 'x baseline' in table


def test_unknown_backend_is_refused(tiny_configs):
    with pytest.raises(SystemExit, match='tensorrt'):
        run_backends([tiny_configs['tiny']], (64, 64), backends=['tensorrt'])
