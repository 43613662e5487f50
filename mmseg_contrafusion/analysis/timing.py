"""Clocks for forward callables, summaries of run times, the environment.

Everything here takes a callable ``fn()`` (a model's forward on fixed
inputs, a training step, or any other backend's run), not a module, so
that what is timed and how it is timed stay apart.
"""
import datetime
import os
import platform
import socket
import statistics
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

import torch


def cpu_name() -> str:
    """The CPU model name (``/proc/cpuinfo``, else ``platform``)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str) -> Dict[str, Any]:
    """Where and with what the figures were measured.

    Args:
        device (str): ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.

    Returns:
        dict: Device, CPU, cores, threads, versions, host, load average
        and date (and the GPU name on CUDA).
    """
    env: Dict[str, Any] = dict(
        device=device,
        cpu=cpu_name(),
        cpu_count=os.cpu_count(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        python=platform.python_version(),
        host=socket.gethostname(),
        load_average=list(os.getloadavg())
        if hasattr(os, 'getloadavg') else None,
        date=datetime.datetime.now().isoformat(timespec='seconds'))
    if device.startswith('cuda'):
        env['gpu'] = torch.cuda.get_device_name(torch.device(device))
    try:
        import mmcv
        import mmengine

        import mmseg
        env.update(
            mmseg=mmseg.__version__,
            mmcv=mmcv.__version__,
            mmengine=mmengine.__version__)
    except ImportError:
        pass
    return env


def synchronize(device: str) -> None:
    """Wait for the queued work of a CUDA ``device`` (no-op on CPU)."""
    if device.startswith('cuda'):
        torch.cuda.synchronize(torch.device(device))


def wall_and_cpu_time(fn: Callable[[], Any],
                      device: str) -> Tuple[float, float]:
    """Wall-clock and process CPU seconds of one call of ``fn``.

    The CPU time counts all threads of this process; with one thread and
    other processes competing for the cores it stays closer to the compute
    time of the call than the wall-clock time does.

    Args:
        fn (Callable[[], Any]): What to time.
        device (str): Its device (synchronised around the call on CUDA).

    Returns:
        tuple[float, float]: ``(wall seconds, CPU seconds)``.
    """
    synchronize(device)
    cpu_start = time.process_time()
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start, time.process_time() - cpu_start


def time_call(fn: Callable[[], Any], device: str) -> float:
    """Seconds of one call of ``fn`` (synchronised on CUDA)."""
    return wall_and_cpu_time(fn, device)[0]


def time_runs(fn: Callable[[], Any], runs: int, warmup: int,
              device: str) -> List[float]:
    """Seconds of each of ``runs`` calls of ``fn``, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    return [time_call(fn, device) for _ in range(runs)]


def summarise(times: Sequence[float]) -> Dict[str, float]:
    """Median, mean, standard deviation, min, max and IQR of ``times``.

    Args:
        times (Sequence[float]): At least one value (seconds).

    Returns:
        dict: ``median_s``, ``mean_s``, ``std_s`` (0 for one value),
        ``min_s``, ``max_s`` and ``iqr_s``.
    """
    ordered = sorted(times)
    quartiles = (
        statistics.quantiles(ordered, n=4)
        if len(ordered) >= 2 else [ordered[0]] * 3)
    return dict(
        median_s=statistics.median(ordered),
        mean_s=statistics.fmean(ordered),
        std_s=statistics.stdev(ordered) if len(ordered) >= 2 else 0.0,
        min_s=ordered[0],
        max_s=ordered[-1],
        iqr_s=quartiles[2] - quartiles[0])


def summarise_clocks(times: Sequence[Tuple[float, float]]) -> Dict[str, Any]:
    """Row fields of ``(wall, CPU)`` second pairs, as the benchmarks keep.

    Args:
        times (Sequence[tuple[float, float]]): At least one pair.

    Returns:
        dict: ``times_s`` and :func:`summarise` of the wall times,
        ``cpu_times_s`` and the same summary of the CPU times with keys
        prefixed ``cpu_``.
    """
    wall = [t[0] for t in times]
    cpu = [t[1] for t in times]
    return dict(
        times_s=wall,
        **summarise(wall),
        cpu_times_s=cpu,
        **{
            'cpu_' + k: v
            for k, v in summarise(cpu).items()
        })


def error_text(error: BaseException) -> str:
    """``'<Type>: <message>'``, as result rows report errors."""
    return f'{type(error).__name__}: {error}'
