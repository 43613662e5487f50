"""tools/analysis: params_flops.py, benchmark.py and results_table.py.

The front ends only: their arguments, what they print and write. The
measuring code is tested in tests/analysis.
"""
import csv
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmseg_contrafusion.analysis.configs import load_config
from mmseg_contrafusion.analysis.model_builders import build_model
from mmseg_contrafusion.analysis.results_table import HEADER, build_rows
from tool_loader import load_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'tests', 'data', 'configs')
TINY_CONFIG = osp.join(CONFIGS, 'segformer_tiny_synthetic.py')

pf = load_tool('tools/analysis/params_flops.py')
bm = load_tool('tools/analysis/benchmark.py')
rt = load_tool('tools/analysis/results_table.py')


@pytest.fixture(scope='module')
def tiny_configs():
    """The tiny config and a variant with an auxiliary head."""
    return dict(
        tiny=TINY_CONFIG,
        aux=osp.join(CONFIGS,
                     'segformer-aux_tiny_1xb2-4it_synthetic-64x64.py'))


def test_params_flops_cli(tiny_configs, tmp_path, capsys):
    out = tmp_path / 'pf.json'
    results = pf.main([
        tiny_configs['tiny'], tiny_configs['aux'], '--shape', '64', '64',
        '--json',
        str(out)
    ])
    printed = capsys.readouterr().out
    assert 'Params (inference)' in printed and 'auxiliary_head' in printed
    data = json.loads(out.read_text())
    assert data['shape'] == [64, 64] and len(data['results']) == 2
    tiny, aux = results
    assert tiny['flops']['flops'] > 0
    # The auxiliary head does not run at inference: same FLOPs.
    assert aux['flops']['flops'] == tiny['flops']['flops']
    assert aux['params']['inference'] == tiny['params']['inference']


def _checkpoint(config, path):
    torch.manual_seed(0)
    model = build_model(load_config(config))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def test_results_table_from_real_test_run(tiny_configs, tool_env, tmp_path):
    """A real tools/test.py run gives the metrics, benchmark.py the time."""
    ckpt = _checkpoint(TINY_CONFIG, str(tmp_path / 'tiny.pth'))
    work_dir = tmp_path / 'test_work_dir'
    run = subprocess.run([
        sys.executable, 'tools/test.py', TINY_CONFIG, ckpt, '--eval', 'mIoU',
        'mDice', '--work-dir',
        str(work_dir)
    ],
                         cwd=REPO_ROOT,
                         env=tool_env,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    test_json = glob.glob(str(work_dir / '*' / '*.json'))
    assert len(test_json) == 1
    metrics = json.loads(open(test_json[0]).read())
    for key in ('mIoU', 'mDice', 'aAcc'):
        assert key in metrics

    bench = tmp_path / 'bench.json'
    bm.main([
        TINY_CONFIG, tiny_configs['aux'], '--shape', '64', '64', '--runs', '2',
        '--warmup', '0', '--no-memory', '--out',
        str(bench)
    ])
    md, table_csv = tmp_path / 'table.md', tmp_path / 'table.csv'
    rows = rt.main([
        TINY_CONFIG, tiny_configs['aux'], '--metrics',
        f'segformer_tiny_synthetic={work_dir}', '--bench',
        str(bench), '--md',
        str(md), '--csv',
        str(table_csv)
    ])
    header = HEADER
    assert header[:8] == [
        'Model', 'Backbone', 'Params', 'Crop Size', 'mIoU', 'Dice',
        'Pixel Accuracy', 'Testing Time (per image)'
    ]
    trained, untrained = (dict(zip(header, r['cells'])) for r in rows)
    assert trained['Model'] == 'SegFormer'
    assert trained['Crop Size'] == '64x64'
    assert trained['mIoU'] == f"{metrics['mIoU']:.2f}"
    assert trained['Dice'] == f"{metrics['mDice']:.2f}"
    assert trained['Pixel Accuracy'] == f"{metrics['aAcc']:.2f}"
    bench_rows = json.loads(bench.read_text())['results']
    assert trained['Testing Time (per image)'].startswith(
        f"{bench_rows[0]['median_s']:.3f} s")
    params = bench_rows[0]['params']['inference']
    assert trained['Params'] == f'{params / 1e6:.2f}M'
    for key in ('mIoU', 'Dice', 'Pixel Accuracy'):
        assert untrained[key] == 'not trained'
    assert untrained['Testing Time (per image)'].endswith(
        f"± {bench_rows[1]['std_s']:.3f}")
    assert untrained['Params'] == trained['Params']
    text = md.read_text()
    assert '| Model | Backbone | Params |' in text and 'not trained' in text
    with open(table_csv) as f:
        csv_rows = list(csv.reader(f))
    assert csv_rows[0] == header
    assert csv_rows[1] == rows[0]['cells']
    # The same metrics found through --work-dirs ROOT/<config stem>/.
    root = tmp_path / 'work_dirs'
    (root / 'segformer_tiny_synthetic').mkdir(parents=True)
    target = root / 'segformer_tiny_synthetic' / 'run'
    target.mkdir()
    (target / 'run.json').write_text(json.dumps(metrics))
    again = build_rows([TINY_CONFIG], json.loads(bench.read_text()), {},
                       str(root))
    assert again[0]['cells'] == rows[0]['cells']


def test_benchmark_cli_times_both_backends(tiny_configs, tmp_path, capsys):
    out = tmp_path / 'backends.json'
    bm.main([
        tiny_configs['tiny'], '--shape', '64', '--runs', '1', '--warmup', '0',
        '--threads', '1', '--backend', 'pytorch', 'onnxruntime', '--baseline',
        'segformer_tiny_synthetic', '--out',
        str(out)
    ])
    assert '| onnxruntime |' in capsys.readouterr().out
    rows = json.loads(out.read_text())['results']
    assert [r['backend'] for r in rows] == ['pytorch', 'onnxruntime']
    with pytest.raises(SystemExit, match='on the CPU'):
        bm.main([
            tiny_configs['tiny'], '--backend', 'onnxruntime', '--device',
            'cuda:0'
        ])
