"""tools/analysis/performance_report.py and benchmark_dataloader.py.

The report runs in --quick mode (tiny configs, 64x64, one timed run each);
the figures are meaningless at that size, so the tests check the structure
of the JSON and Markdown, that every ratio is a positive number, and that no
training-only module runs at inference.
"""
import importlib.util
import json
import math
import os.path as osp
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CAC_TINY = osp.join(
    REPO_ROOT,
    'configs/cac/contrafusionnet-cac_tiny_2xb2-400it_synthetic-256x256.py')


def _tool(name):
    """Import tools/analysis/<name>.py once (the tools import each other)."""
    if name not in sys.modules:
        path = osp.join(REPO_ROOT, 'tools', 'analysis', name + '.py')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


pr = _tool('performance_report')
bdl = _tool('benchmark_dataloader')


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and \
        value > 0


def test_quick_report(synthetic_cityscapes, tmp_path, capsys):
    out, md = tmp_path / 'report.json', tmp_path / 'performance.md'
    # Hand-written notes of an earlier report survive the rewrite.
    md.write_text(f'old\n{pr.NOTES_BEGIN}\nkeep me\n{pr.NOTES_END}\nold\n')
    pr.main([
        '--quick', '--runs', '1', '--warmup', '0', '--threads', '1',
        '--profile', '--data-root', synthetic_cityscapes, '--out',
        str(out), '--md',
        str(md)
    ])
    printed = capsys.readouterr().out
    assert '| Target |' in printed and 'PASS' in printed
    report = json.loads(out.read_text())
    assert report['schema'] == pr.SCHEMA
    for key in ('env', 'settings', 'configs', 'targets', 'inference',
                'training', 'data', 'profile', 'checks', 'elapsed_s',
                'command'):
        assert key in report, key
    assert report['settings']['quick'] and report['settings']['runs'] == 1
    assert set(report['configs']) == set(pr.ROLES)

    # Inference: ratios on both clocks, all positive.
    ratios = report['inference']['ratios']
    for key in ('model_over_encoders', 'model_over_pspnet',
                'model_over_segformer', 'model_over_nocontrast'):
        assert set(ratios[key]) == {'min', 'wall', 'cpu'}, key
        assert all(_positive(v) for v in ratios[key].values()), key
    parts = {(r['name'], r['part'])
             for r in report['inference']['benchmark']['results']}
    model_stem = osp.splitext(osp.basename(report['configs']['model']))[0]
    assert (model_stem, 'backbone:cnn_backbone') in parts
    # Only ContraFusionNet's encoders are timed alone.
    assert sum(p == 'backbone:backbone' for _, p in parts) == 1
    # No training-only module runs at inference; the hooks do fire in
    # training, and projection heads / CAC / MS-CS heads are among them.
    hooks = {h['name']: h for h in report['inference']['hooks']}
    assert len(hooks) == 3
    for hook in hooks.values():
        assert hook['inference_total'] == 0
        assert hook['training_total'] > 0
        assert 'decode_head.contrast' in hook['modules']
    cac = next(h for n, h in hooks.items() if '-cac_' in n)
    assert 'decode_head.cac_branch' in cac['modules']
    mscs = next(h for n, h in hooks.items() if 'mscs' in n)
    assert 'auxiliary_head' in mscs['modules']

    # Training: both shapes, every contrastive model against the baseline.
    shapes = report['training']['shapes']
    assert list(shapes) == ['64x64', '64x128']
    for entry in shapes.values():
        r = entry['ratios']
        assert _positive(r['baseline']['peak_alloc_mb'])
        for role in ('model', 'cac', 'mscs'):
            assert all(_positive(v) for v in r[role]['time'].values())
            assert set(r[role]['time']) == {'min', 'wall', 'cpu'}
            assert _positive(r[role]['peak_mem'])
            assert _positive(r[role]['step_mem'])
        # The memory callback ran in the interleaved benchmark.
        for row in entry['benchmark']['results']:
            assert 'after_error' not in row, row['after_error']
            assert row['peak_alloc_mb'] >= row['resident_mb'] > 0

    # Data: the loader against the training step of the same run.
    data = report['data']
    assert data['data_root'] == synthetic_cityscapes
    assert data['num_workers'] == data['default_num_workers']
    assert _positive(data['images_per_s'])
    assert _positive(data['loader_over_step'])
    assert data['step_shape'] == '64x64'

    # Checks: every target, with a verdict.
    whats = [c['what'] for c in report['checks']]
    assert len(whats) == 3 + 2 * 6 + 1
    for check in report['checks']:
        assert check['value'] is not None
        if check['target'] is None:  # measured, no target (MS/CS time)
            assert check['status'] == 'INFO' and 'MS/CS' in check['what']
        else:
            assert check['status'] in ('PASS', 'MISS')
    hook_check = next(c for c in report['checks'] if 'module calls' in
                      c['what'])
    assert hook_check['status'] == 'PASS'

    # Profile: inference by part (ModuleList elements summed by name) and
    # the operators each contrastive model adds to the baseline's step.
    parts = {m['part']: m['ms'] for m in report['profile']['inference']
             ['modules']}
    for part in ('backbone', 'cnn_backbone', 'decode_head.front_end',
                 'decode_head.front_end', 'other', 'total'):
        assert part in parts, part
    assert 'decode_head.contrast' not in parts
    models = report['profile']['training']['models']
    assert set(models) == {'nocontrast', 'model', 'cac', 'mscs'}
    assert all(m['total_ms'] > 0 and m['ops'] for m in models.values())

    text = md.read_text()
    assert text.startswith('# Performance')
    assert '\nkeep me\n' in text and not text.startswith('old')
    for heading in ('## Targets', '## Inference, 64x64', '## Training step',
                    '## Data pipeline', '## Where the time goes',
                    '## Configs'):
        assert heading in text
    assert 'python tools/analysis/performance_report.py --quick' in text

    # --render writes the Markdown of the JSON again, measuring nothing.
    again = tmp_path / 'again.md'
    rendered = pr.main(['--render', str(out), '--md', str(again)])
    assert rendered['checks'] == report['checks']
    assert again.read_text().split(pr.NOTES_BEGIN)[0] == \
        text.split(pr.NOTES_BEGIN)[0]


def test_hook_check_sees_cac_at_training_only():
    result = pr.inference_hook_check(CAC_TINY, (64, 64))
    assert result['inference_total'] == 0
    calls = result['training_calls']
    assert calls['decode_head.cac_branch'] > 0
    assert calls['decode_head.contrast'] > 0
    assert calls['decode_head.contrast'] > 0


def test_dataloader_cli(synthetic_cityscapes, tmp_path, capsys):
    out = tmp_path / 'loader.json'
    result = bdl.main([
        CAC_TINY, '--data-root', synthetic_cityscapes, '--num-workers', '0',
        '--batches', '2', '--warmup', '0', '--step-time', '0.5', '--out',
        str(out)
    ])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result['num_workers'] == 0 and result['default_num_workers'] == 2
    assert result['images'] == 2 * result['batch_size']
    assert result['step_images_per_s'] == pytest.approx(
        result['batch_size'] / 0.5)
    assert result['loader_over_step'] == pytest.approx(
        result['images_per_s'] / result['step_images_per_s'])
    assert result['crop_size'] == [256, 256]
    printed = capsys.readouterr().out
    assert 'images/s' in printed and 'loader / step' in printed


def test_dataloader_rejects_a_root_without_data(tmp_path):
    with pytest.raises(SystemExit, match='--data-root'):
        bdl.run_benchmark(CAC_TINY, data_root=str(tmp_path),
                          log=lambda msg: None)
