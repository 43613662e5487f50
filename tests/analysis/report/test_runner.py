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
                                                render_report, run_report,
                                                write_markdown)


def _positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and \
        value > 0


def _check_inference(report):
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
    assert len(targets) == 3 + 2 * 6 + 1
    for check in report['checks']:
        assert check['value'] is not None
        if check['target'] is None:  # measured, no target (MS/CS time)
            assert check['status'] == 'INFO' and 'MS/CS' in check['what']
        else:
            assert check['status'] in ('PASS', 'MISS')
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


def test_quick_report(synthetic_cityscapes, tmp_path):
    out, md = tmp_path / 'report.json', tmp_path / 'performance.md'
    # Hand-written notes of an earlier report survive the rewrite.
    md.write_text(f'old\n{NOTES_BEGIN}\nkeep me\n{NOTES_END}\nold\n')
    report = run_report(
        quick=True,
        runs=1,
        warmup=0,
        threads=1,
        profile=True,
        data_root=synthetic_cityscapes,
        log=lambda msg: None)
    printed = format_summary(report)
    assert '| Target |' in printed and 'PASS' in printed
    out.write_text(json.dumps(report, indent=2))
    report = json.loads(out.read_text())
    write_markdown(report, str(md))
    assert report['schema'] == SCHEMA
    for key in ('env', 'settings', 'configs', 'targets', 'inference',
                'training', 'data', 'profile', 'checks', 'elapsed_s',
                'command'):
        assert key in report, key
    assert report['settings']['quick'] and report['settings']['runs'] == 1
    assert set(report['configs']) == set(ROLES)
    _check_inference(report)
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
    for heading in ('## Targets', '## Inference, 64x64', '## Training step',
                    '## Data pipeline', '## Where the time goes',
                    '## Configs'):
        assert heading in text

    # Rendering the JSON again measures nothing and gives the same text.
    again = tmp_path / 'again.md'
    rendered = render_report(str(out))
    write_markdown(rendered, str(again))
    assert rendered['checks'] == report['checks']
    assert again.read_text().split(NOTES_BEGIN)[0] == \
        text.split(NOTES_BEGIN)[0]
