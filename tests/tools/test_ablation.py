"""tools/analysis/ablation.py end to end: 2 variants x 2 seeds, 2 iterations.

Runs, skips finished runs on a second call, resumes a run killed mid-way,
and writes the table, the CSV and the pictures.
"""
import csv
import json
import os
import os.path as osp

from mmseg_contrafusion.analysis.ablation import load_grid
from mmseg_contrafusion.analysis.ablation.runs import (run_dir, run_options,
                                                       train_command)
from tool_loader import load_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')

ablation = load_tool('tools/analysis/ablation.py')

GRID = """
title = 'Tiny grid'
notes = 'Two iterations: the numbers mean nothing.'
base = '{base}'
reference = 'full'
seeds = 2
cfg_options = {{
    'train_cfg.max_iters': 2,
    'train_cfg.val_interval': 2,
    'default_hooks.checkpoint.interval': 1,
    'train_dataloader.num_workers': 0,
    'val_dataloader.num_workers': 0,
    'test_dataloader.num_workers': 0,
}}
variants = [
    dict(name='full', description='the model'),
    dict(name='narrow', description='half the decoder width',
         cfg_options={{'model.decode_head.channels': 16}}),
]
"""


def test_grid_runs_resumes_skips_and_reports(tmp_path, tool_env, monkeypatch,
                                             capsys):
    for key, value in tool_env.items():
        monkeypatch.setenv(key, value)
    grid_file = tmp_path / 'tiny_grid.py'
    grid_file.write_text(GRID.format(base=TINY_CONFIG))
    work_dir = str(tmp_path / 'runs')
    docs = tmp_path / 'docs'
    args = [
        str(grid_file), '--work-dir', work_dir, '--md',
        str(docs / 'ablations.md')
    ]

    # A run killed after its first iteration: a checkpoint, no result.
    full = load_grid(str(grid_file)).variant('full')
    killed = run_dir(work_dir, 'full', 0)
    os.makedirs(killed)
    options = {**run_options(full, 0), 'train_cfg.max_iters': 1}
    command = train_command(full, options, killed, 1, 'none', resume=False)
    import subprocess
    subprocess.run(command, check=True, capture_output=True, cwd=REPO_ROOT)
    assert osp.isfile(osp.join(killed, 'iter_1.pth'))

    ablation.main(args)
    log = capsys.readouterr().err
    assert '[ablation] full seed 0: resuming' in log
    assert log.count(': training') == 3  # the other three runs
    results = {}
    for variant in ('full', 'narrow'):
        for seed in (0, 1):
            path = osp.join(run_dir(work_dir, variant, seed), 'result.json')
            results[variant, seed] = json.loads(open(path).read())
    resumed = results['full', 0]
    assert resumed['checkpoint'] == 'iter_2.pth'
    with open(osp.join(killed, 'ablation.log')) as f:
        assert '--resume' in f.read()
    for (variant, seed), result in results.items():
        assert result['cfg_options']['randomness.seed'] == seed
        assert set(result['metrics']) == {'mIoU', 'mDice', 'aAcc'}
        assert 0 <= result['metrics']['mIoU'] <= 100
    assert results['narrow',
                   0]['cfg_options']['model.decode_head.channels'] == 16

    # The report: table with the verdict, every run in the CSV, pictures.
    text = (docs / 'ablations.md').read_text()
    assert text.startswith('# Tiny grid')
    assert 'python tools/analysis/ablation.py' in text
    assert '| full | the model | 2 |' in text and '(reference)' in text
    assert '| narrow | half the decoder width | 2 |' in text
    with open(docs / 'tiny_grid.csv') as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ['variant', 'seed', 'config'] and len(rows) == 5
    for picture in ('tiny_grid_miou.png', 'tiny_grid_curves.png'):
        assert (docs / 'images' / picture).read_bytes()[:4] == b'\x89PNG'

    # A second call runs nothing and writes the same table.
    stamps = {
        k: os.path.getmtime(osp.join(run_dir(work_dir, *k), 'result.json'))
        for k in results
    }
    ablation.main(args)
    assert '[ablation]' not in capsys.readouterr().err
    assert stamps == {
        k: os.path.getmtime(osp.join(run_dir(work_dir, *k), 'result.json'))
        for k in results
    }
    assert (docs / 'ablations.md').read_text() == text
