"""The targets of the report with their measured values and verdicts."""
from typing import Any, Dict, List, Optional

from .bounds import report_bounds
from .settings import TARGETS


def time_basis(device: str) -> str:
    """The time the targets are judged on: ``'min'``, on every device.

    The fastest of the interleaved timed runs (wall clock): other processes
    only ever add time, so on a shared machine the minimum is the best
    estimate of what a model costs, and every model had the same chances
    of a quiet moment. The medians (wall and CPU time) are reported beside.
    """
    return 'min'


def make_check(what: str,
               value: Optional[float],
               op: str,
               target: Optional[float],
               detail: str = '',
               ratios: Optional[Dict[str, float]] = None,
               lower_bound: Optional[float] = None) -> dict:
    """One check: ``value op target`` (``'<='``, ``'>='`` or ``'=='``).

    Args:
        what (str): What is checked.
        value (float, optional): The measured value.
        op (str): ``'<='``, ``'>='``, ``'=='``, or ``''`` without a target.
        target (float, optional): The limit; None: measured only.
        detail (str): A note. Defaults to ''.
        ratios (dict, optional): The value on every time basis.
        lower_bound (float, optional): The least value the measured work
            allows (:mod:`.bounds`). A value below it comes from a change
            of the machine's speed between the timed runs: no verdict.

    Returns:
        dict: The fields given and ``passed`` (None without a value or a
        target, or below ``lower_bound``) and ``status``: ``PASS``,
        ``MISS``, ``INFO`` (no target), ``NOISY`` (below ``lower_bound``)
        or ``-`` (no value).
    """
    noisy = (
        value is not None and lower_bound is not None and value < lower_bound)
    if value is None or target is None or noisy:
        passed = None
    else:
        passed = value <= target if op == '<=' else (
            value >= target if op == '>=' else value == target)
    status = ('INFO' if target is None else
              'NOISY' if noisy else '-' if passed is None else
              ('PASS' if passed else 'MISS'))
    if noisy:
        detail = ('below its lower bound: the machine\'s speed changed '
                  'between the timed runs, no verdict; ' + detail)
    return dict(
        what=what,
        value=value,
        op=op,
        target=target,
        passed=passed,
        status=status,
        detail=detail,
        ratios=ratios or {})


def section_label(section: Dict[str, Any]) -> str:
    """``'512x512, 2 threads'``: the shape and thread count of a section."""
    shape = 'x'.join(map(str, section['shape']))
    threads = section.get('threads')
    return f'{shape}, {threads} threads' if threads else shape


def encoder_bound_note(bound: Optional[dict]) -> str:
    """The check's note on :func:`.bounds.encoder_bound` (empty without)."""
    if not bound:
        return ''
    return (f"lower bound {bound['bound']:.3f}: the decoder's "
            f"{bound['decoder_gflops']:.2f} GFLOPs "
            f"({100 * bound['flops_ratio']:.1f}% of the encoders') at the "
            f"faster encoder's {bound['fastest_gflops_s']:.0f} GFLOP/s")


def onnx_bound_note(bounds: Optional[dict], key: str) -> str:
    """The check's note on :func:`.bounds.onnx_bounds` (empty without)."""
    if not bounds or key not in bounds:
        return ''
    return (f'lower bound {bounds[key]:.2f}: ONNX Runtime\'s Conv, MatMul '
            f"and Gemm nodes alone ({100 * bounds['dense_share']:.0f}% of its "
            'node time)')


def _inference_checks(inference: Dict[str, Any],
                      basis: str,
                      bound: Optional[dict] = None) -> List[dict]:
    r = inference['ratios']
    where = section_label(inference)
    checks = [
        make_check(
            f'inference {where}: ContraFusionNet / (MiT alone + ResNet '
            'alone)',
            r['model_over_encoders'].get(basis),
            '<=',
            TARGETS['model_over_encoders'],
            detail=encoder_bound_note(bound),
            ratios=r['model_over_encoders'],
            lower_bound=bound['bound'] if bound else None),
        make_check(
            f'inference {where}: ContraFusionNet / PSPNet R50-D8',
            r['model_over_pspnet'].get(basis),
            '<=',
            TARGETS['model_over_pspnet'],
            ratios=r['model_over_pspnet'])
    ]
    if inference.get('hooks'):
        calls = sum(h['inference_total'] for h in inference['hooks'])
        checks.append(
            make_check(
                'inference: training-only module calls (projection heads, '
                'CAC, MS/CS, losses)',
                calls,
                '==',
                0,
                detail=', '.join(f"{h['name']}: {len(h['modules'])} modules, "
                                 f"{h['training_total']} calls in training"
                                 for h in inference['hooks'])))
    return checks


def _deployment_checks(section: Dict[str, Any],
                       basis: str,
                       bounds: Optional[dict] = None) -> List[dict]:
    r = section['ratios']
    where = section_label(section)
    return [
        make_check(
            f'deployment {where}: ContraFusionNet ONNX Runtime / '
            'ContraFusionNet eager',
            r['onnx_over_eager'].get(basis),
            '<=',
            TARGETS['onnx_over_eager'],
            detail=onnx_bound_note(bounds, 'onnx_over_eager'),
            ratios=r['onnx_over_eager'],
            lower_bound=(bounds or {}).get('onnx_over_eager')),
        make_check(
            f'deployment {where}: ContraFusionNet ONNX Runtime / SegFormer '
            '(same MiT) eager',
            r['onnx_over_segformer_eager'].get(basis),
            '<=',
            TARGETS['onnx_over_segformer_eager'],
            detail=onnx_bound_note(bounds, 'onnx_over_segformer_eager'),
            ratios=r['onnx_over_segformer_eager'],
            lower_bound=(bounds or {}).get('onnx_over_segformer_eager'))
    ]


def sections_of(report: Dict[str, Any], key: str) -> List[Dict[str, Any]]:
    """The report's ``inference`` or ``deployment`` sections as a list.

    One section per thread count; a report with a single (older) section
    dict gives a list of one.
    """
    value = report.get(key)
    if not value:
        return []
    return [value] if isinstance(value, dict) else list(value)


def _training_checks(key: str, r: Dict[str, Any], basis: str) -> List[dict]:
    checks = []
    for role, target in (('model', TARGETS['contrast_time']),
                         ('cac', TARGETS['cac_time'])):
        label = ('cross-encoder contrast'
                 if role == 'model' else 'CAC (+ cross-encoder contrast)')
        checks.append(
            make_check(
                f'training {key}: step with {label} / CE + Dice',
                r[role]['time'].get(basis),
                '<=',
                target,
                ratios=r[role]['time']))
    checks.append(
        make_check(
            f'training {key}: step with MS/CS (+ cross-encoder '
            'contrast) / CE + Dice',
            r['mscs']['time'].get(basis),
            '',
            None,
            detail='measured; the issue sets no target',
            ratios=r['mscs']['time']))
    for role, label, target in (('model', 'cross-encoder contrast',
                                 TARGETS['peak_mem']), ('cac', 'CAC',
                                                        TARGETS['peak_mem']),
                                ('mscs', 'MS/CS', TARGETS['mscs_peak_mem'])):
        checks.append(
            make_check(
                f'training {key}: peak memory with {label} / CE + Dice',
                r[role].get('peak_mem'),
                '<=',
                target,
                detail=(f"step allocations x{r[role]['step_mem']:.2f}"
                        if r[role].get('step_mem') else '')))
    return checks


def build_checks(report: Dict[str, Any]) -> List[dict]:
    """Every target of the issue with its measured value and verdict.

    Args:
        report (dict): The report (its measured sections).

    Returns:
        list[dict]: :func:`make_check` results, inference first. With the
        profile's FLOPs and ONNX Runtime profiles, the time checks note the
        lower bound of :mod:`.bounds` that the same run gives.
    """
    basis = time_basis(report['settings']['device'])
    inference = sections_of(report, 'inference')
    deployment = sections_of(report, 'deployment')
    bounds = report_bounds(report.get('profile'), inference, deployment, basis)
    checks: List[dict] = []
    for section in inference:
        checks += _inference_checks(
            section, basis, bounds['inference'].get(section.get('threads')))
    for section in deployment:
        checks += _deployment_checks(
            section, basis, bounds['deployment'].get(section.get('threads')))
    if report.get('training'):
        for key, entry in report['training']['shapes'].items():
            checks += _training_checks(key, entry['ratios'], basis)
    data = report.get('data')
    if data and 'loader_over_step' in data:
        checks.append(
            make_check(
                f"data: loader images/s ({data['num_workers']} workers) / "
                f"training step images/s ({data['step_shape']})",
                data['loader_over_step'], '>=', TARGETS['loader_over_step']))
    return checks
