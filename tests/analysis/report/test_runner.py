"""mmseg_contrafusion.analysis.report: the whole report in quick mode.

Quick mode: tiny configs, 64x64, one timed run each; the figures are
meaningless at that size, so the test checks the structure of the report
and its Markdown, that every ratio is a positive number, and that no
training-only module runs at inference.
"""
import json
import math
import os.path as osp

from mmseg_contrafusion.analysis.report import (NOTES_BEGIN, NOTES_END, ROLES,
                                                SCHEMA, format_summary,
                                                plot_latency, render_report,
                                                run_report, write_markdown)
from mmseg_contrafusion.analysis.report.figure import PANELS, latency_bars


def _positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and \
        value > 0


def _check_inference(report):
    # Inference: one section per thread count; ratios on three bases, all
    # positive; the hooks are counted once.
    assert [s['threads'] for s in report['inference']] == [1, 2]
    assert report['inference'][1]['hooks'] == []
    section = report['inference'][0]
    ratios = section['ratios']
    for key in ('model_over_encoders', 'model_over_pspnet',
                'model_over_segformer', 'model_over_nocontrast'):
        assert set(ratios[key]) == {'min', 'wall', 'cpu'}, key
        assert all(_positive(v) for v in ratios[key].values()), key
    parts = {(r['name'], r['part']) for r in section['benchmark']['results']}
    model_stem = osp.splitext(osp.basename(report['configs']['model']))[0]
    assert (model_stem, 'backbone:cnn_backbone') in parts
    # Only ContraFusionNet's encoders are timed alone.
    assert sum(p == 'backbone:backbone' for _, p in parts) == 1
    # No training-only module runs at inference; the hooks do fire in
    # training, and projection heads / CAC / MS-CS heads are among them.
    hooks = {h['name']: h for h in section['hooks']}
    assert len(hooks) == 3
    for hook in hooks.values():
        assert hook['inference_total'] == 0
        assert hook['training_total'] > 0
        assert 'decode_head.contrast' in hook['modules']
    cac = next(h for n, h in hooks.items() if '-cac_' in n)
    assert 'decode_head.cac_branch' in cac['modules']
    mscs = next(h for n, h in hooks.items() if 'mscs' in n)
    assert 'auxiliary_head' in mscs['modules']


def _check_deployment(report):
    # Deployment: both backends, each in its own process, at every count.
    assert [s['threads'] for s in report['deployment']] == [1, 2]
    for section in report['deployment']:
        rows = section['benchmark']['results']
        assert {r['backend'] for r in rows} == {'pytorch', 'onnxruntime'}
        assert {
            env['threads']
            for env in section['benchmark']['backend_env'].values()
        } == {section['threads']}
        for key in ('onnx_over_eager', 'onnx_over_segformer_eager',
                    'segformer_onnx_over_eager'):
            assert set(section['ratios'][key]) == {'min', 'wall', 'cpu'}
            assert all(_positive(v) for v in section['ratios'][key].values())


def _check_training(report):
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


def _check_checks(report):
    # Checks: every target, with a verdict.
    targets = [c['what'] for c in report['checks']]
    # Inference 2 per thread count + the hook count, deployment 2 per
    # thread count, training 6 per shape, data 1.
    assert len(targets) == 2 * 2 + 1 + 2 * 2 + 2 * 6 + 1
    assert sum('1 threads' in t for t in targets) == 4
    mscs_mem = next(c for c in report['checks']
                    if 'peak memory with MS/CS' in c['what'])
    assert mscs_mem['target'] == 1.05
    for check in report['checks']:
        assert check['value'] is not None
        if check['target'] is None:  # measured, no target (MS/CS time)
            assert check['status'] == 'INFO' and 'MS/CS' in check['what']
        else:
            assert check['status'] in ('PASS', 'MISS', 'NOISY')
    hook_check = next(c for c in report['checks']
                      if 'module calls' in c['what'])
    assert hook_check['status'] == 'PASS'


def _check_profile(report):
    # Profile: inference by part (ModuleList elements summed by name) and
    # the operators each contrastive model adds to the baseline's step.
    parts = {
        m['part']: m['ms']
        for m in report['profile']['inference']['modules']
    }
    for part in ('backbone', 'cnn_backbone', 'decode_head.front_end', 'other',
                 'total'):
        assert part in parts, part
    assert 'decode_head.contrast' not in parts
    models = report['profile']['training']['models']
    assert set(models) == {'nocontrast', 'model', 'cac', 'mscs'}
    assert all(m['total_ms'] > 0 and m['ops'] for m in models.values())
    # FLOPs and one ONNX Runtime node profile per thread count give the
    # lower bounds that the time checks note.
    flops = report['profile']['flops']
    assert flops['flops'] > flops['by_module']['backbone'] + \
        flops['by_module']['cnn_backbone'] > 0
    assert [p['threads'] for p in report['profile']['onnx']] == [1, 2]
    assert all(p['conv_ms'] > 0 for p in report['profile']['onnx'])
    for check in report['checks']:
        if 'MiT alone' in check['what'] or 'ONNX Runtime /' in check['what']:
            assert 'lower bound ' in check['detail'], check


def test_quick_report(synthetic_cityscapes, tmp_path):
    out, md = tmp_path / 'report.json', tmp_path / 'performance.md'
    # Hand-written notes of an earlier report survive the rewrite.
    md.write_text(f'old\n{NOTES_BEGIN}\nkeep me\n{NOTES_END}\nold\n')
    report = run_report(
        quick=True,
        runs=1,
        warmup=0,
        threads=[1, 2],
        profile=True,
        data_root=synthetic_cityscapes,
        log=lambda msg: None)
    printed = format_summary(report)
    assert '| Target |' in printed and 'PASS' in printed
    out.write_text(json.dumps(report, indent=2))
    report = json.loads(out.read_text())
    figure = tmp_path / 'images' / 'latency.png'
    assert plot_latency(report, str(figure))
    assert figure.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # Each panel holds the bars of one section, at every thread count.
    panels = latency_bars(report)
    assert list(panels) == [title for title, _, _ in PANELS]
    for title, _, bars in PANELS:
        assert sorted(panels[title]) == [1, 2]
        assert [label for label, _ in panels[title][2]] == \
            [label for label, _ in bars]
    write_markdown(report, str(md), str(figure))
    assert report['schema'] == SCHEMA
    for key in ('env', 'settings', 'configs', 'targets', 'inference',
                'training', 'data', 'profile', 'checks', 'elapsed_s',
                'command'):
        assert key in report, key
    assert report['settings']['quick'] and report['settings']['runs'] == 1
    assert set(report['configs']) == set(ROLES)
    _check_inference(report)
    _check_deployment(report)
    _check_training(report)

    # Data: the loader against the training step of the same run.
    data = report['data']
    assert data['data_root'] == synthetic_cityscapes
    assert data['num_workers'] == data['default_num_workers']
    assert _positive(data['images_per_s'])
    assert _positive(data['loader_over_step'])
    assert data['step_shape'] == '64x64'

    _check_checks(report)
    _check_profile(report)

    text = md.read_text()
    assert text.startswith('# Performance')
    assert '\nkeep me\n' in text and not text.startswith('old')
    assert '![latency per backend and model](images/latency.png)' in text
    for heading in ('## Targets', '## Inference, 64x64, 1 threads',
                    '## Inference, 64x64, 2 threads',
                    '## Eager PyTorch and ONNX Runtime, 64x64, 2 threads',
                    '## Training step', '## Data pipeline',
                    '## Where the time goes', '## Configs'):
        assert heading in text
    assert "ONNX Runtime's own profile of" in text
    assert 'Lower bound' in text
    assert 'Its Conv, MatMul and Gemm nodes alone take' in text

    # Rendering the JSON again measures nothing and gives the same text.
    again = tmp_path / 'again.md'
    rendered = render_report(str(out))
    write_markdown(rendered, str(again), str(figure))
    assert rendered['checks'] == report['checks']
    assert again.read_text().split(NOTES_BEGIN)[0] == \
        text.split(NOTES_BEGIN)[0]
