"""The targets of the report with their measured values and verdicts."""
from typing import Any, Dict, List, Optional

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
               ratios: Optional[Dict[str, float]] = None) -> dict:
    """One check: ``value op target`` (``'<='``, ``'>='`` or ``'=='``).

    Returns:
        dict: The fields given and ``passed`` (None without a value or a
        target) and ``status``: ``PASS``, ``MISS``, ``INFO`` (no target)
        or ``-`` (no value).
    """
    if value is None or target is None:
        passed = None
    else:
        passed = value <= target if op == '<=' else (
            value >= target if op == '>=' else value == target)
    status = ('INFO' if target is None else '-' if passed is None else
              ('PASS' if passed else 'MISS'))
    return dict(
        what=what,
        value=value,
        op=op,
        target=target,
        passed=passed,
        status=status,
        detail=detail,
        ratios=ratios or {})


def _inference_checks(inference: Dict[str, Any], basis: str) -> List[dict]:
    r = inference['ratios']
    shape = 'x'.join(map(str, inference['shape']))
    calls = sum(h['inference_total'] for h in inference['hooks'])
    return [
        make_check(
            f'inference {shape}: ContraFusionNet / (MiT alone + ResNet '
            'alone)',
            r['model_over_encoders'].get(basis),
            '<=',
            TARGETS['model_over_encoders'],
            ratios=r['model_over_encoders']),
        make_check(
            f'inference {shape}: ContraFusionNet / PSPNet R50-D8',
            r['model_over_pspnet'].get(basis),
            '<=',
            TARGETS['model_over_pspnet'],
            ratios=r['model_over_pspnet']),
        make_check(
            'inference: training-only module calls (projection heads, CAC, '
            'MS/CS, losses)',
            calls,
            '==',
            0,
            detail=', '.join(f"{h['name']}: {len(h['modules'])} modules, "
                             f"{h['training_total']} calls in training"
                             for h in inference['hooks'])),
    ]


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
    for role, label in (('model', 'cross-encoder contrast'), ('cac', 'CAC'),
                        ('mscs', 'MS/CS')):
        checks.append(
            make_check(
                f'training {key}: peak memory with {label} / CE + Dice',
                r[role].get('peak_mem'),
                '<=',
                TARGETS['peak_mem'],
                detail=(f"step allocations x{r[role]['step_mem']:.2f}"
                        if r[role].get('step_mem') else '')))
    return checks


def build_checks(report: Dict[str, Any]) -> List[dict]:
    """Every target of the issue with its measured value and verdict.

    Args:
        report (dict): The report (its measured sections).

    Returns:
        list[dict]: :func:`make_check` results, inference first.
    """
    basis = time_basis(report['settings']['device'])
    checks: List[dict] = []
    if report.get('inference'):
        checks += _inference_checks(report['inference'], basis)
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
