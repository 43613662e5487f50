"""Peak memory of a forward callable or of training steps.

Two kinds of figures:

* tensor memory: on CUDA from ``torch.cuda.max_memory_allocated``; on CPU
  the peak of the CPU allocator's live bytes during the call, from
  ``torch.profiler``'s memory events (deterministic; ``tracemalloc`` would
  miss torch's allocations);
* process memory (CPU): the peak resident set size during a block of calls
  (``VmHWM`` of ``/proc/self/status``, reset through
  ``/proc/self/clear_refs``; where that is not allowed, the process-lifetime
  ``ru_maxrss``, and the method says so). RSS figures move with the
  allocator's caching by +-100 MB and more.
"""
import json
import os.path as osp
import resource
import tempfile
from typing import Any, Callable, Dict, Iterable, Optional

import torch

MB = 2**20


def tensor_bytes(tensors: Iterable[Any]) -> int:
    """Bytes of the distinct tensors in ``tensors`` (None and others skipped).

    Args:
        tensors (Iterable): Tensors (e.g. parameters, buffers, gradients,
            optimizer state); each tensor object counts once.

    Returns:
        int: Their total ``numel * element_size``.
    """
    seen = set()
    total = 0
    for tensor in tensors:
        if isinstance(tensor, torch.Tensor) and id(tensor) not in seen:
            seen.add(id(tensor))
            total += tensor.numel() * tensor.element_size()
    return total


def profiler_peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak bytes of CPU tensors allocated during ``fn`` (torch.profiler).

    The profiler's running total of the CPU allocator's live bytes starts at
    0 with the profiling: its maximum is the most memory ``fn`` had
    allocated at once on top of what existed before (activations; for a
    training step also gradients and temporaries).

    Args:
        fn (Callable[[], Any]): What to run once.

    Returns:
        int: The peak, in bytes (0 if nothing was allocated).
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(
            activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    with tempfile.TemporaryDirectory() as tmp:
        trace = osp.join(tmp, 'trace.json')
        prof.export_chrome_trace(trace)
        with open(trace) as f:
            events = json.load(f).get('traceEvents', [])
    totals = [
        e['args'].get('Total Allocated', 0) for e in events
        if e.get('name') == '[memory]' and 'args' in e
    ]
    return max([0] + totals)


def tensor_peak_mb(fn: Callable[[], Any]) -> float:
    """:func:`profiler_peak_bytes` of ``fn`` in MB."""
    return profiler_peak_bytes(fn) / MB


def peak_memory(fn: Callable[[], Any],
                device: str,
                resident_bytes: int = 0) -> Dict[str, Any]:
    """Peak memory of one call of a forward callable ``fn``.

    Args:
        fn (Callable[[], Any]): The forward.
        device (str): Its device.
        resident_bytes (int): On CPU, what exists before the call and stays
            (parameters, buffers, input), added to the profiler's peak.
            Defaults to 0.

    Returns:
        dict: ``peak_bytes`` and ``method`` (on CPU also
        ``activation_bytes``, the profiler's peak alone).
    """
    if device.startswith('cuda'):
        dev = torch.device(device)
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        fn()
        torch.cuda.synchronize(dev)
        return dict(
            peak_bytes=int(torch.cuda.max_memory_allocated(dev)),
            method='torch.cuda.max_memory_allocated')
    activations = profiler_peak_bytes(fn)
    return dict(
        peak_bytes=int(resident_bytes + activations),
        activation_bytes=int(activations),
        method='params+buffers+input + peak CPU allocator bytes '
        '(torch.profiler)')


def proc_status_bytes(field: str) -> Optional[int]:
    """A ``kB`` field of /proc/self/status in bytes (None if absent)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the peak RSS (``VmHWM``); False where that is not allowed."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class MemoryMeter:
    """Memory over a block of training steps (see the module doc).

    Args:
        device (str): The device of the steps.
    """

    def __init__(self, device: str) -> None:
        self.device = device

    def start(self) -> None:
        """Note the memory before the block (and reset the peaks)."""
        if self.device.startswith('cuda'):
            dev = torch.device(self.device)
            torch.cuda.synchronize(dev)
            self.before = torch.cuda.memory_allocated(dev)
            torch.cuda.reset_peak_memory_stats(dev)
            return
        self.reset = reset_peak_rss()
        self.before = proc_status_bytes('VmRSS') or 0

    def stop(self) -> Dict[str, Any]:
        """The figures of the block.

        Returns:
            dict: CUDA: ``peak_mem_mb``, ``step_mem_mb`` and ``mem_method``;
            CPU: ``peak_mem_mb``, ``step_rss_mb`` and ``rss_method``.
        """
        if self.device.startswith('cuda'):
            dev = torch.device(self.device)
            torch.cuda.synchronize(dev)
            peak = torch.cuda.max_memory_allocated(dev)
            return dict(
                peak_mem_mb=peak / MB,
                step_mem_mb=max(0, peak - self.before) / MB,
                mem_method='torch.cuda.max_memory_allocated (peak: '
                'absolute; step: above the allocation before the step)')
        peak = proc_status_bytes('VmHWM') if self.reset else None
        rss_method = 'peak RSS (VmHWM, reset before the step)'
        if peak is None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            rss_method = 'process-lifetime peak RSS (ru_maxrss)'
        return dict(
            peak_mem_mb=peak / MB,
            step_rss_mb=max(0, peak - self.before) / MB,
            rss_method=rss_method)


def step_memory(step: Callable[[], Any],
                device: str,
                steps: int = 1) -> Dict[str, Any]:
    """Memory figures of ``steps`` training steps (at least one).

    Args:
        step (Callable[[], Any]): One training step.
        device (str): Its device.
        steps (int): Steps in the measured block. Defaults to 1.

    Returns:
        dict: ``peak_mem_mb`` (CUDA: absolute ``max_memory_allocated``;
        CPU: peak RSS), ``step_mem_mb`` (what a step allocates on top of
        the model and optimizer state; CPU: :func:`tensor_peak_mb` of one
        more step), ``mem_method``, and on CPU ``step_rss_mb``.
    """
    meter = MemoryMeter(device)
    meter.start()
    for _ in range(max(1, steps)):
        step()
    memory = meter.stop()
    if not device.startswith('cuda'):
        memory['step_mem_mb'] = tensor_peak_mb(step)
        memory['mem_method'] = (
            'peak: ' + memory.pop('rss_method') + '; step: peak CPU tensor '
            'bytes allocated during a step (torch.profiler)')
    return memory


def training_state_bytes(model: torch.nn.Module,
                         optimizer: torch.optim.Optimizer) -> int:
    """Parameters, buffers, gradients and optimizer state of a model."""
    params = list(model.parameters()) + list(model.buffers())
    grads = [getattr(t, 'grad', None) for t in params]
    state = [v for s in optimizer.state.values() for v in s.values()]
    return tensor_bytes(params + grads + state)


def step_peak_memory(step: Callable[[], Any], model: torch.nn.Module,
                     optimizer: torch.optim.Optimizer,
                     device: str) -> Dict[str, Any]:
    """Peak tensor memory of one more training step, deterministic.

    Args:
        step (Callable[[], Any]): One training step of ``model``.
        model (nn.Module): The model it trains.
        optimizer (Optimizer): Its optimizer (after a step: with state).
        device (str): The device.

    Returns:
        dict: ``resident_mb`` (parameters, buffers, gradients, optimizer
        state), ``step_alloc_mb`` (the most tensor memory the step had
        allocated at once on top of that), ``peak_alloc_mb`` (their sum) and
        ``alloc_method``.
    """
    resident = training_state_bytes(model, optimizer)
    if device.startswith('cuda'):
        dev = torch.device(device)
        torch.cuda.synchronize(dev)
        before = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        step()
        torch.cuda.synchronize(dev)
        step_mb = (torch.cuda.max_memory_allocated(dev) - before) / MB
        method = ('parameters + buffers + optimizer state + (CUDA '
                  'max_memory_allocated during a step - allocated before)')
    else:
        step_mb = tensor_peak_mb(step)
        method = ('parameters + buffers + optimizer state + peak CPU tensor '
                  'bytes allocated during a step (torch.profiler)')
    return dict(
        resident_mb=resident / MB,
        step_alloc_mb=step_mb,
        peak_alloc_mb=resident / MB + step_mb,
        alloc_method=method)
