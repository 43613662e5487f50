"""The report as Markdown (``docs/performance.md``) and its console summary.

Text between :data:`NOTES_BEGIN` and :data:`NOTES_END` of an existing report
is kept when it is written again.
"""
import os
import os.path as osp
import re
from typing import Any, Dict, Optional

from .. import dataloader_benchmark, inference_benchmark, train_benchmark
from ..configs import REPO_ROOT
from ..tables import fmt_number, markdown_table
from .bounds import decoder_flops, report_bounds
from .checks import section_label, sections_of, time_basis
from .ratios import BASES
from .settings import ROLE_NAMES

NOTES_BEGIN = '<!-- notes:begin -->'
NOTES_END = '<!-- notes:end -->'


def format_checks(report: Dict[str, Any]) -> str:
    """The targets table and the note on its time basis."""
    header = [
        'Target', 'Measured', 'Median wall', 'Median CPU', 'Limit', 'Result',
        'Note'
    ]
    rows = []
    for c in report['checks']:
        value = c['value']
        measured = (
            str(value) if isinstance(value, int) else fmt_number(value))
        ratios = c.get('ratios') or {}
        rows.append([
            c['what'], measured,
            fmt_number(ratios['wall']) if 'wall' in ratios else '',
            fmt_number(ratios['cpu']) if 'cpu' in ratios else '',
            '-' if c['target'] is None else f"{c['op']} {c['target']:g}",
            c['status'],
            c.get('detail', '')
        ])
    note = ('Time ratios: "Measured" divides the fastest of the interleaved '
            'timed runs of each model (other processes only add time); the '
            'ratios of the median wall time and of the median process CPU '
            'time (all threads) are beside it. Memory ratios are '
            'deterministic.')
    return markdown_table(header, rows) + '\n\n' + note


def format_inference(section: Dict[str, Any]) -> str:
    """The benchmark table, the ratios and the hook counts."""
    r = section['ratios']
    lines = [inference_benchmark.format_table(section['benchmark']), '']
    rows = []
    for key, label in (('model_over_encoders',
                        'ContraFusionNet / (MiT + ResNet alone)'),
                       ('model_over_pspnet',
                        'ContraFusionNet / PSPNet R50-D8'),
                       ('model_over_segformer',
                        'ContraFusionNet / SegFormer, same MiT'),
                       ('model_over_nocontrast',
                        'ContraFusionNet / its -nocontrast ablation')):
        rows.append([label] + [fmt_number(r[key].get(b)) for b in BASES])
    rows.append(['decoder share of ContraFusionNet inference'] +
                [fmt_number(r['decoder_share'].get(b)) for b in BASES])
    lines.append(
        markdown_table(['Ratio', 'Fastest run', 'Median wall', 'Median CPU'],
                       rows))
    lines.append('')
    hook_rows = [[
        h['name'],
        str(len(h['modules'])),
        str(h['inference_total']),
        str(h['training_total']), ', '.join(h['modules'])
    ] for h in section['hooks']]
    lines.append(
        markdown_table([
            'Config', 'Training-only modules', 'Calls at inference',
            'Calls in a training forward', 'Modules'
        ], hook_rows))
    return '\n'.join(lines)


def format_deployment(section: Dict[str, Any]) -> str:
    """The backend benchmark table and the ONNX Runtime ratios."""
    r = section['ratios']
    rows = [[label] + [fmt_number(r[key].get(b)) for b in BASES]
            for key, label in (
                ('onnx_over_eager',
                 'ContraFusionNet: ONNX Runtime / eager PyTorch'),
                ('onnx_over_segformer_eager',
                 'ContraFusionNet ONNX Runtime / SegFormer eager PyTorch'),
                ('segformer_onnx_over_eager',
                 'SegFormer: ONNX Runtime / eager PyTorch'))]
    return '\n'.join([
        inference_benchmark.format_table(section['benchmark']), '',
        markdown_table(['Ratio', 'Fastest run', 'Median wall', 'Median CPU'],
                       rows)
    ])


def format_training(section: Dict[str, Any]) -> str:
    """One table of step times and memory ratios per training shape."""
    parts = []
    for key, entry in section['shapes'].items():
        r = entry['ratios']
        rows = []
        base = r['baseline']
        rows.append([
            base['name'],
            fmt_number(base['step_s']['min']),
            fmt_number(base['step_s']['wall']),
            fmt_number(base['step_s'].get('cpu')), '1.00', '1.00', '1.00',
            fmt_number(base.get('peak_alloc_mb'), 0), '1.00',
            fmt_number(base.get('step_alloc_mb'), 0), '1.00'
        ])
        for role in ('model', 'cac', 'mscs'):
            e = r[role]
            rows.append([
                e['name'],
                fmt_number(e['step_s']['min']),
                fmt_number(e['step_s']['wall']),
                fmt_number(e['step_s'].get('cpu'))
            ] + [fmt_number(e['time'].get(b)) for b in BASES] + [
                fmt_number(e.get('peak_alloc_mb'), 0),
                fmt_number(e.get('peak_mem')),
                fmt_number(e.get('step_alloc_mb'), 0),
                fmt_number(e.get('step_mem'))
            ])
        parts += [
            f'#### {key}, batch {section["batch"]}', '',
            markdown_table([
                'Model', 'Fastest step (s)', 'Median wall (s)',
                'Median CPU (s)', 'x fastest', 'x median wall', 'x median CPU',
                'Peak mem (MB)', 'x peak', 'Step alloc (MB)', 'x step alloc'
            ], rows), '', '<details><summary>benchmark_train table</summary>',
            '',
            train_benchmark.format_table(entry['benchmark']), '', '</details>',
            ''
        ]
    return '\n'.join(parts)


def format_bounds(report: Dict[str, Any]) -> str:
    """FLOPs, throughputs and the lower bounds of :mod:`.bounds`."""
    profile = report['profile']
    lines = []
    if profile.get('flops'):
        f = decoder_flops(profile['flops'])
        lines += [
            'FLOPs of ContraFusionNet\'s inference forward (mmengine '
            '`FlopAnalyzer`, one multiply-add = one FLOP): MiT '
            f"{f['transformer'] / 1e9:.2f} G, ResNet-50 "
            f"{f['cnn'] / 1e9:.2f} G, decoder (everything else) "
            f"{f['decoder'] / 1e9:.2f} G = "
            f"{100 * f['decoder'] / f['encoders']:.1f}% of the encoders'.", ''
        ]
    bounds = report_bounds(profile, sections_of(report, 'inference'),
                           sections_of(report, 'deployment'),
                           time_basis(report['settings']['device']))
    rows = []
    for section in sections_of(report, 'inference'):
        b = bounds['inference'].get(section.get('threads'))
        if b:
            rows.append([
                str(section.get('threads')),
                fmt_number(b['transformer_gflops_s'], 1),
                fmt_number(b['cnn_gflops_s'], 1),
                fmt_number(b['decoder_gflops_s'], 1),
                fmt_number(b['bound'], 3),
                fmt_number(section['ratios']['model_over_encoders'].get('min'),
                           3)
            ])
    if rows:
        lines += [
            'Throughput of each part (fastest run) and the least eager / '
            'encoders ratio the decoder\'s FLOPs allow at the faster '
            'encoder\'s throughput:', '',
            markdown_table([
                'Threads', 'MiT GFLOP/s', 'ResNet GFLOP/s', 'Decoder GFLOP/s',
                'Lower bound', 'Measured'
            ], rows), ''
        ]
    for onnx in profile.get('onnx') or []:
        threads = onnx['threads']
        b = bounds['deployment'].get(threads, {})
        lines += [
            f"ONNX Runtime's own profile of {onnx['config']} "
            f"({threads} threads, mean of {onnx['runs']} runs: "
            f"{onnx['node_ms']:.0f} ms of node time in "
            f"{onnx['run_ms']:.0f} ms runs), by operator type:", '',
            markdown_table(['Operator', 'ms', 'Nodes', 'Share'], [[
                o['op'],
                fmt_number(o['ms'], 1), f"{o['nodes']:g}",
                f"{o['ms'] / onnx['node_ms']:.2f}"
            ] for o in onnx['ops'][:profile['top']]]), ''
        ]
        if 'onnx_over_eager' in b and 'onnx_over_segformer_eager' in b:
            lines += [
                f"Its Conv, MatMul and Gemm nodes alone take "
                f"{b['dense_ms']:.0f} ms: {b['onnx_over_eager']:.2f} of "
                f"ContraFusionNet's and {b['onnx_over_segformer_eager']:.2f} "
                "of SegFormer's eager time in the deployment section at "
                f'{threads} threads, the least either ratio can be with '
                'every other node for free.', ''
            ]
    return '\n'.join(lines)


def format_profile(profile: Dict[str, Any]) -> str:
    """Inference by part and operator, training operators per model."""
    lines = []
    inf = profile.get('inference')
    if inf:
        shape = 'x'.join(map(str, inf['shape']))
        lines += [
            f'Inference of ContraFusionNet at {shape}, by part (forward '
            'hooks, one call):', '',
            markdown_table(['Part', 'ms'],
                           [[m['part'], fmt_number(m['ms'], 1)]
                            for m in inf['modules']]), '',
            f"Top operators by self time (total {inf['total_ms']:.0f} ms):",
            '',
            markdown_table(
                ['Operator', 'ms', 'Calls'],
                [[o['op'], fmt_number(o['ms'], 1),
                  str(o['calls'])] for o in inf['ops']]), ''
        ]
    train = profile.get('training')
    if train:
        shape = 'x'.join(map(str, train['shape']))
        lines.append(f'Training step at {shape}, operator self time '
                     '(one profiled step each):')
        lines.append('')
        for role, m in train['models'].items():
            lines.append(f"- {m['name']}: {m['total_ms']:.0f} ms")
        for role in ('model', 'cac', 'mscs'):
            m = train['models'].get(role)
            if not m or not m.get('extra_ops'):
                continue
            lines += [
                '', f"Operators with more time in {m['name']} than in the "
                'CE + Dice baseline:', '',
                markdown_table(['Operator', '+ms'],
                               [[o['op'], fmt_number(o['ms'], 1)]
                                for o in m['extra_ops']])
            ]
        lines.append('')
    return '\n'.join(lines)


def old_notes(path: Optional[str]) -> Optional[str]:
    """The notes of an existing report at ``path`` (None without)."""
    if not path or not osp.isfile(path):
        return None
    with open(path) as f:
        text = f.read()
    match = re.search(
        re.escape(NOTES_BEGIN) + r'(.*?)' + re.escape(NOTES_END), text, re.S)
    return match.group(1) if match else None


def format_markdown(report: Dict[str, Any],
                    notes: Optional[str],
                    figure: Optional[str] = None) -> str:
    """The whole Markdown report.

    Args:
        report (dict): The report.
        notes (str, optional): Text kept between the notes markers; None
            writes a placeholder.
        figure (str, optional): Path of the latency figure, relative to the
            Markdown file, shown under the notes. Defaults to None.

    Returns:
        str: The Markdown.
    """
    env = report['env']
    settings = report['settings']
    where = (
        env.get('gpu') if settings['device'].startswith('cuda') else
        f"{env['cpu']}, {env['cpu_count']} cores, "
        f"{env['threads']} threads")
    load = env.get('load_average')
    lines = [
        '# Performance', '',
        'Generated by `tools/analysis/performance_report.py` on '
        f"{report['date']} in {report['elapsed_s'] / 60:.1f} min:", '',
        '```shell', report['command'], '```', '',
        f"Machine: {settings['device']} ({where}), torch {env['torch']}, "
        f"mmseg {env.get('mmseg')}, mmcv {env.get('mmcv')}, Python "
        f"{env['python']}" +
        (f'; load average {load[0]:.1f} at the end' if load else '') + '.',
        f"Every ratio below divides two figures measured in this one run "
        f"({settings['warmup']} warm-up + {settings['runs']} timed runs "
        'each, models in interleaved rounds). Random init, random inputs; '
        'no data loading in the inference and training figures.', '',
        '## Targets', '',
        format_checks(report), ''
    ]
    if notes is None:
        notes = ('\n(Analysis: text between these markers is kept when the '
                 'report is regenerated.)\n')
    lines += [NOTES_BEGIN + notes + NOTES_END, '']
    if figure:
        lines += [
            '## Latency per backend and model', '',
            f'![latency per backend and model]({figure})', ''
        ]
    for section in sections_of(report, 'inference'):
        lines += [
            f'## Inference, {section_label(section)}', '',
            format_inference(section), ''
        ]
    for section in sections_of(report, 'deployment'):
        lines += [
            f'## Eager PyTorch and ONNX Runtime, {section_label(section)}', '',
            'Each backend timed in a process of its own, one after the '
            'other (a live ONNX Runtime thread pool slows eager PyTorch in '
            'the same process); the exported graph is `encode_decode` '
            '(logits at input size).', '',
            format_deployment(section), ''
        ]
    if report.get('training'):
        lines += [
            '## Training step', '',
            'Peak memory: parameters, buffers and AdamW state plus the '
            'most tensor memory a step allocates at once (CPU: '
            'torch.profiler allocator events; CUDA: '
            'max_memory_allocated). Step alloc: that second part '
            'alone.', '',
            format_training(report['training'])
        ]
    if report.get('data'):
        lines += [
            '## Data pipeline', '', '```',
            dataloader_benchmark.format_report(report['data']), '```', ''
        ]
    if report.get('profile'):
        lines += [
            '## Where the time goes', '',
            format_profile(report['profile']),
            format_bounds(report)
        ]
    lines += [
        '## Configs', '',
        markdown_table(['Role', 'Config'], [[
            ROLE_NAMES[r],
            osp.relpath(p, REPO_ROOT) if p.startswith(REPO_ROOT) else p
        ] for r, p in report['configs'].items()]), ''
    ]
    return '\n'.join(lines)


def format_summary(report: Dict[str, Any]) -> str:
    """What the console shows at the end."""
    return '\n'.join(['', format_checks(report)])


def write_markdown(report: Dict[str, Any],
                   path: str,
                   figure: Optional[str] = None) -> None:
    """Write the Markdown report, keeping the notes of an existing one.

    Args:
        report (dict): The report.
        path (str): The Markdown file.
        figure (str, optional): The latency figure
            (:func:`.figure.plot_latency`) to show, as a path.
    """
    notes = old_notes(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    shown = osp.relpath(figure, osp.dirname(osp.abspath(path))) \
        if figure else None
    with open(path, 'w') as f:
        f.write(format_markdown(report, notes, shown))
    print(f'wrote {path}')
