"""Where the time goes: operators (torch.profiler) and module times."""
import functools
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from ...deployment.onnx_profile import profile_in_own_process
from ..configs import config_stem, load_config
from ..flops import count_flops
from ..model_builders import build_model, image_metas, inference_forward
from ..timing import synchronize, time_call
from ..train_step import TrainStep


def top_ops(fn: Callable[[], Any], top: int,
            device: str) -> Tuple[List[Dict[str, Any]], float]:
    """Operators of one call of ``fn`` by self time.

    Args:
        fn (Callable[[], Any]): What to profile.
        top (int): How many operators to return; 0 for all.
        device (str): Device (CUDA: device time).

    Returns:
        tuple[list[dict], float]: Operators (``op``, ``ms``, ``calls``),
        slowest first, and the total (ms).
    """
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU]
    if device.startswith('cuda'):
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        fn()
        synchronize(device)
    attr = ('self_device_time_total'
            if device.startswith('cuda') else 'self_cpu_time_total')
    averages = prof.key_averages()
    ops = sorted((dict(op=a.key, ms=getattr(a, attr) / 1e3, calls=a.count)
                  for a in averages),
                 key=lambda o: -o['ms'])
    total = sum(o['ms'] for o in ops)
    return ops[:max(top, 0)] if top else ops, total


def module_times(model: torch.nn.Module, inputs: torch.Tensor,
                 metas: List[dict], device: str) -> List[Dict[str, Any]]:
    """Wall time of the main parts of one inference forward (ms).

    Timed with forward hooks on the segmentor's children and on the decode
    head's children (the elements of a ``ModuleList`` summed under its
    name); ``other`` is the rest (resizes, concatenation, glue).

    Returns:
        list[dict]: ``part`` and ``ms`` per part that ran, then ``other``
        and ``total``.
    """
    targets = [(n, m) for n, m in model.named_children()
               if n not in ('data_preprocessor', 'auxiliary_head')]
    head = getattr(model, 'decode_head', None)
    if head is not None:
        targets = [(n, m) for n, m in targets if n != 'decode_head'] + [
            (f'decode_head.{n}', m)
            for n, m in head.named_children() if not n.startswith('loss')
        ]
    # A ModuleList is never called itself: time its elements under its name.
    targets = [
        (n, sub) for n, m in targets
        for sub in (list(m) if isinstance(m, torch.nn.ModuleList) else [m])
    ]
    spent = {name: 0.0 for name, _ in targets}
    starts: Dict[int, float] = {}
    handles = []
    for name, module in targets:

        def pre(module, args):
            synchronize(device)
            starts[id(module)] = time.perf_counter()

        def post(module, args, output, name=name):
            synchronize(device)
            spent[name] += time.perf_counter() - starts.pop(id(module))

        handles += [
            module.register_forward_pre_hook(pre),
            module.register_forward_hook(post)
        ]
    try:
        total = time_call(lambda: inference_forward(model, inputs, metas),
                          device)
    finally:
        for handle in handles:
            handle.remove()
    rows = [dict(part=n, ms=s * 1e3) for n, s in spent.items() if s > 0]
    rows.append(dict(part='other', ms=(total - sum(spent.values())) * 1e3))
    rows.append(dict(part='total', ms=total * 1e3))
    return rows


def run_profile(
    configs: Dict[str, str],
    settings: Dict[str, Any],
    batch: int,
    device: str,
    log: Callable[[str], None],
    onnx_files: Optional[Dict[str, str]] = None,
    threads: Sequence[int] = ()
) -> Dict[str, Any]:
    """Top operators of inference and of each model's training step.

    Args:
        configs (dict): Role -> config.
        settings (dict): The report settings (``profile_top``,
            ``inference_shape``, ``train_shapes``, ``runs``, ``warmup``).
        batch (int): Images per training step.
        device (str): Device.
        log (Callable[[str], None]): Progress messages.
        onnx_files (dict, optional): Config -> its export (the deployment
            section's); with ContraFusionNet's, ONNX Runtime profiles it.
            Defaults to None.
        threads (Sequence[int]): Thread counts of the ONNX Runtime
            profiles (the deployment section's). Defaults to ().

    Returns:
        dict: ``top``, ``inference`` (operators and :func:`module_times`
        of ContraFusionNet), ``flops`` (:func:`..flops.count_flops` of its
        inference), ``onnx`` (one
        :func:`...deployment.onnx_profile.onnx_op_times` of its export per
        thread count, each in a process of its own) and ``training``
        (operators per model and ``extra_ops``, what each contrastive model
        adds to the baseline).
    """
    top = settings['profile_top']
    out: Dict[str, Any] = dict(top=top)
    shape = tuple(settings['inference_shape'])
    log(f'[performance] profiling inference at {shape[0]}x{shape[1]}')
    model = build_model(load_config(configs['model']), device=device)
    inputs = torch.randn(1, 3, *shape, device=device)
    metas = image_metas(*shape)
    with torch.inference_mode():
        inference_forward(model, inputs, metas)
        ops, total = top_ops(
            functools.partial(inference_forward, model, inputs, metas), top,
            device)
        modules = module_times(model, inputs, metas, device)
    out['inference'] = dict(
        shape=list(shape), total_ms=total, ops=ops, modules=modules)
    out['flops'] = count_flops(model, shape)
    del model
    onnx_file = (onnx_files or {}).get(configs['model'])
    out['onnx'] = []
    if onnx_file:
        for count in threads:
            log(f'[performance] ONNX Runtime node profile, {count} threads')
            out['onnx'].append(
                dict(
                    profile_in_own_process(onnx_file, shape, count,
                                           settings['runs'],
                                           settings['warmup']),
                    config=config_stem(configs['model'])))
    shape = tuple(settings['train_shapes'][0])
    log(f'[performance] profiling training steps at {shape[0]}x{shape[1]}')
    train: Dict[str, Any] = dict(shape=list(shape), models={})
    all_ops: Dict[str, Dict[str, float]] = {}
    for role in ('nocontrast', 'model', 'cac', 'mscs'):
        step = TrainStep(
            configs[role], shape=shape, batch=batch, device=device)
        step()
        ops, total = top_ops(step, 0, device)
        all_ops[role] = {o['op']: o['ms'] for o in ops}
        train['models'][role] = dict(
            name=config_stem(configs[role]), total_ms=total, ops=ops[:top])
        del step
    base = all_ops['nocontrast']
    for role in ('model', 'cac', 'mscs'):
        mine = all_ops[role]
        delta = sorted(((op, mine.get(op, 0.0) - base.get(op, 0.0))
                        for op in set(mine) | set(base)),
                       key=lambda d: -d[1])
        train['models'][role]['extra_ops'] = [
            dict(op=op, ms=ms) for op, ms in delta[:top] if ms > 0
        ]
    out['training'] = train
    return out
