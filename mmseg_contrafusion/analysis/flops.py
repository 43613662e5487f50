"""FLOPs of a segmentor's inference forward, and the params/FLOPs table.

FLOPs are counted by mmengine's ``FlopAnalyzer`` (jit trace; one
multiply-add = one FLOP, the fvcore/mmengine convention also used by mmseg's
``get_flops.py``), with counters added for ``scaled_dot_product_attention``
and ``baddbmm``. Ops without a counter are reported.
"""
import os.path as osp
from collections import Counter
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .configs import load_config
from .model_builders import (build_model, encoder_forward, image_metas,
                             inference_forward, output_tensors)
from .params import capped_probe, count_params
from .tables import fmt_count, markdown_table
from .timing import error_text

#: Ops that FlopAnalyzer leaves uncounted on purpose (fvcore convention:
#: elementwise and pooling work is negligible next to convs and matmuls).
NEGLIGIBLE_OPS = {
    'aten::add', 'aten::add_', 'aten::sub', 'aten::mul', 'aten::mul_',
    'aten::div', 'aten::div_', 'aten::neg', 'aten::exp', 'aten::sqrt',
    'aten::rsqrt', 'aten::pow', 'aten::mean', 'aten::sum', 'aten::gelu',
    'aten::silu', 'aten::sigmoid', 'aten::tanh', 'aten::hardtanh',
    'aten::leaky_relu', 'aten::softmax', 'aten::log_softmax', 'aten::dropout',
    'aten::feature_dropout', 'aten::max_pool2d', 'aten::avg_pool2d',
    'aten::unflatten', 'aten::argmax', 'aten::norm',
    'aten::linalg_vector_norm', 'aten::clamp_min', 'aten::abs'
}


class _Part(nn.Module):
    """Wraps one forward path of a segmentor for jit-based analysis."""

    def __init__(self, model: nn.Module, part: str, shape: Tuple[int, int]):
        super().__init__()
        self.model = model
        self.part = part
        self.metas = image_metas(*shape)

    def forward(self, inputs: torch.Tensor):
        if self.part == 'encoder':
            return tuple(output_tensors(encoder_forward(self.model, inputs)))
        return inference_forward(self.model, inputs, self.metas)


def _attention_flops(inputs, outputs) -> int:
    """aten::scaled_dot_product_attention: Q K^T and (softmax) V products."""
    from mmengine.analysis.jit_handles import get_shape
    q_shape = get_shape(inputs[0])
    k_shape = get_shape(inputs[1])
    v_shape = get_shape(inputs[2])
    batch = 1
    for dim in q_shape[:-2]:
        batch *= dim
    length, dim_qk = q_shape[-2:]
    source = k_shape[-2]
    dim_v = v_shape[-1]
    return batch * length * source * (dim_qk + dim_v)


def _baddbmm_flops(inputs, outputs) -> int:
    """aten::baddbmm(bias, a, b): the batched product a @ b."""
    from mmengine.analysis.jit_handles import get_shape
    a_shape = get_shape(inputs[1])
    b_shape = get_shape(inputs[2])
    n, c, t = a_shape
    return n * c * t * b_shape[-1]


def count_flops(model: nn.Module,
                shape: Tuple[int, int],
                part: str = 'model') -> Dict[str, Any]:
    """FLOPs of one forward path at ``shape`` (batch 1).

    Args:
        model (nn.Module): A built segmentor.
        shape (tuple[int, int]): Input size (H, W).
        part (str): ``'model'`` (whole inference) or ``'encoder'``.
            Defaults to ``'model'``.

    Returns:
        dict: ``flops`` (int), ``unsupported_ops`` (op name -> count) and
        ``by_module`` (FLOPs of the segmentor's direct children).
    """
    from mmengine.analysis import FlopAnalyzer
    device = next(model.parameters()).device
    wrapper = _Part(model, part, shape).eval()
    inputs = torch.randn(1, 3, *shape, device=device)
    analyzer = FlopAnalyzer(wrapper, (inputs, ))
    analyzer.set_op_handle(
        **{
            'aten::scaled_dot_product_attention': _attention_flops,
            'aten::baddbmm': _baddbmm_flops,
        })
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    with torch.no_grad():
        total = analyzer.total()
    by_module = {
        name[len('model.'):]: int(value)
        for name, value in analyzer.by_module().items()
        if name.startswith('model.') and name.count('.') == 1
    }
    unsupported = Counter()
    for name, ops in analyzer.unsupported_ops().items():
        unsupported[name] += ops
    return dict(
        flops=int(total),
        unsupported_ops=dict(unsupported),
        by_module=by_module)


def analyse_config(path: str,
                   shape: Tuple[int, int],
                   flops: bool = True,
                   random_init: bool = True,
                   cfg_options: Optional[dict] = None,
                   device: str = 'cpu') -> Dict[str, Any]:
    """Parameters (and FLOPs) of one config, as a JSON-ready dict.

    Args:
        path (str): The config file.
        shape (tuple[int, int]): Input size (H, W) for the FLOPs.
        flops (bool): Count FLOPs too. Defaults to True.
        random_init (bool): Strip pretrained weights (no downloads).
            Defaults to True.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        device (str): Device to build on. Defaults to ``'cpu'``.

    Returns:
        dict: ``config``, ``shape``, ``params`` (:func:`count_params`) and
        ``flops`` (:func:`count_flops`, or ``flops=None`` and ``error``
        where tracing failed).
    """
    cfg = load_config(path, cfg_options)
    # The values of the weights do not change the counts: skip the
    # (slow) model initialisers.
    model = build_model(
        cfg, random_init=random_init, device=device, init_weights=False)
    result: Dict[str, Any] = dict(
        config=path,
        shape=list(shape),
        params=count_params(model, capped_probe(shape)))
    if flops:
        try:
            result['flops'] = count_flops(model, shape)
        except Exception as error:  # tracing can fail on exotic models
            result['flops'] = dict(flops=None, error=error_text(error))
    return result


def format_params_flops(results: Sequence[Dict[str, Any]],
                        shape: Tuple[int, int],
                        with_flops: bool = True) -> str:
    """Markdown table of :func:`analyse_config` results.

    Args:
        results (Sequence[dict]): One result per config.
        shape (tuple[int, int]): The FLOPs input size (for the header).
        with_flops (bool): Whether FLOPs were counted. Defaults to True.

    Returns:
        str: The table.
    """
    rows = []
    for r in results:
        p = r['params']
        f = r.get('flops', {})
        flops_str = (
            fmt_count(f.get('flops'), 1e9, 1, 'G') if with_flops else '-')
        notes = []
        heavy = sorted(set(f.get('unsupported_ops') or {}) - NEGLIGIBLE_OPS)
        if heavy:
            notes.append('uncounted ops: ' + ', '.join(heavy))
        if f.get('error'):
            notes.append(f['error'])
        rows.append([
            osp.splitext(osp.basename(r['config']))[0],
            fmt_count(p['total']),
            fmt_count(p['inference']), ', '.join(p['training_only_modules'])
            or '-', flops_str, '; '.join(notes) or '-'
        ])
    return markdown_table([
        'Config', 'Params (total)', 'Params (inference)',
        'Training-only modules', f'FLOPs @ {shape[0]}x{shape[1]}', 'Notes'
    ], rows)
