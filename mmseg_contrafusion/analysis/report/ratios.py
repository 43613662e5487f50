"""Ratios of the report: every figure on three time bases.

A basis is ``'min'`` (the fastest timed run, wall clock), ``'wall'`` (the
median wall time) or ``'cpu'`` (the median process CPU time).
"""
from typing import Any, Callable, Dict, Optional

from .. import backend_benchmark, inference_benchmark, train_benchmark
from ..configs import config_stem

BASES = ('min', 'wall', 'cpu')


def times_of(row: dict) -> Dict[str, Optional[float]]:
    """Seconds of a result row on each basis."""
    return dict(
        min=row['min_s'], wall=row['median_s'], cpu=row.get('cpu_median_s'))


def ratio(num: Dict[str, float], den: Dict[str, float]) -> Dict[str, float]:
    """``num / den`` on every basis both have."""
    return {
        basis: num[basis] / den[basis]
        for basis in BASES if num.get(basis) and den.get(basis)
    }


def measured_row(find: Callable[[], Optional[dict]], label: str) -> dict:
    """The row ``find()`` returns, which must have been measured.

    Raises:
        RuntimeError: Naming ``label`` and the row's error, if it has no
            times.
    """
    row = find()
    if row is None or 'median_s' not in row:
        error = (row or {}).get('error', 'not measured')
        raise RuntimeError(f'{label}: {error}')
    return row


def inference_ratios(result: Dict[str, Any],
                     configs: Dict[str, str]) -> Dict[str, Any]:
    """The inference ratios from an inference benchmark result.

    Args:
        result (dict): :func:`..inference_benchmark.run_benchmark` of the
            roles, with ContraFusionNet's backbones timed alone.
        configs (dict): Role -> config.

    Returns:
        dict: Seconds (``model_s``, ``transformer_encoder_s``,
        ``cnn_encoder_s``, ``encoders_s``, ``<role>_s``), the ratios
        ``model_over_encoders`` and ``model_over_<role>``, and
        ``decoder_share``, each per basis.
    """
    rows = result['results']

    def times(role: str, part: str = 'model') -> Dict[str, Any]:
        return times_of(
            measured_row(
                lambda: inference_benchmark.find_row(rows, configs[
                    role], part), f'{config_stem(configs[role])} {part}'))

    model = times('model')
    mit = times('model', 'backbone:backbone')
    cnn = times('model', 'backbone:cnn_backbone')
    encoders = {
        basis: mit[basis] + cnn[basis]
        for basis in BASES if mit.get(basis) and cnn.get(basis)
    }
    out: Dict[str, Any] = dict(
        model_s=model,
        transformer_encoder_s=mit,
        cnn_encoder_s=cnn,
        encoders_s=encoders,
        model_over_encoders=ratio(model, encoders),
        decoder_share={
            basis: 1 - encoders[basis] / model[basis]
            for basis in encoders if model.get(basis)
        })
    for role in ('pspnet', 'segformer', 'nocontrast'):
        other = times(role)
        out[f'{role}_s'] = other
        out[f'model_over_{role}'] = ratio(model, other)
    return out


def deployment_ratios(result: Dict[str, Any],
                      configs: Dict[str, str]) -> Dict[str, Any]:
    """ONNX Runtime against eager PyTorch, from a backend benchmark result.

    Args:
        result (dict): :func:`..backend_benchmark.run_backends` of the roles
            ``model`` and ``segformer`` on both backends.
        configs (dict): Role -> config.

    Returns:
        dict: Seconds ``<role>_<backend>_s`` and the ratios
        ``onnx_over_eager`` (ContraFusionNet under ONNX Runtime / eager),
        ``onnx_over_segformer_eager`` (ContraFusionNet under ONNX Runtime /
        SegFormer eager) and ``segformer_onnx_over_eager``, each per basis.
    """
    rows = result['results']

    def times(role: str, backend: str) -> Dict[str, Any]:
        return times_of(
            measured_row(
                lambda: inference_benchmark.find_row(
                    [r for r in rows
                     if r['backend'] == backend], configs[role]),
                f'{config_stem(configs[role])} '
                f'{backend}'))

    out: Dict[str, Any] = {
        f'{role}_{backend}_s': times(role, backend)
        for role in ('model', 'segformer')
        for backend in backend_benchmark.BACKENDS
    }
    out['onnx_over_eager'] = ratio(out['model_onnxruntime_s'],
                                   out['model_pytorch_s'])
    out['onnx_over_segformer_eager'] = ratio(out['model_onnxruntime_s'],
                                             out['segformer_pytorch_s'])
    out['segformer_onnx_over_eager'] = ratio(out['segformer_onnxruntime_s'],
                                             out['segformer_pytorch_s'])
    return out


def training_ratios(result: Dict[str, Any],
                    configs: Dict[str, str]) -> Dict[str, Any]:
    """Ratios of each contrastive model to the CE + Dice baseline.

    Args:
        result (dict): :func:`..train_benchmark.run_benchmark` of the roles
            ``model``, ``cac``, ``mscs`` and ``nocontrast``, rows with
            :func:`..memory.step_peak_memory` figures.
        configs (dict): Role -> config.

    Returns:
        dict: ``baseline`` (name, step seconds, memory) and, per
        contrastive role, its step seconds, ``time`` ratios per basis and
        ``peak_mem`` / ``step_mem`` ratios.
    """
    rows = result['results']

    def row_of(role: str) -> dict:
        return measured_row(
            lambda: train_benchmark.find_row(rows, configs[role]),
            config_stem(configs[role]))

    base = row_of('nocontrast')
    out: Dict[str, Any] = dict(
        baseline=dict(
            name=base['name'],
            step_s=times_of(base),
            peak_alloc_mb=base.get('peak_alloc_mb'),
            step_alloc_mb=base.get('step_alloc_mb')))
    for role in ('model', 'cac', 'mscs'):
        row = row_of(role)
        entry: Dict[str, Any] = dict(
            name=row['name'],
            step_s=times_of(row),
            time=ratio(times_of(row), times_of(base)),
            peak_alloc_mb=row.get('peak_alloc_mb'),
            step_alloc_mb=row.get('step_alloc_mb'))
        for key, alloc in (('peak_mem', 'peak_alloc_mb'), ('step_mem',
                                                           'step_alloc_mb')):
            if row.get(alloc) and base.get(alloc):
                entry[key] = row[alloc] / base[alloc]
        out[role] = entry
    return out
