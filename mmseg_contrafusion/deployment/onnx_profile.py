"""Where an exported model spends its time under ONNX Runtime.

ONNX Runtime's own profiler (``SessionOptions.enable_profiling``) records the
kernel time of every node of the optimised graph (after its fusions and
layout changes, e.g. NCHWc convolutions with ``ReorderInput`` /
``ReorderOutput`` around them). :func:`onnx_op_times` sums that time by
operator type over the timed runs only (warm-up runs are profiled too, and
left out by their ``model_run`` window).

Run it in a process of its own (:func:`profile_in_own_process`) next to
eager PyTorch figures: a live ONNX Runtime thread pool slows eager PyTorch
in the same process.
"""
import glob
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..utils.json_worker import run_json_worker, serve_json_worker

#: Operator types counted as convolutions (:func:`op_ms`).
CONV_OPS = ('Conv', 'FusedConv', 'ConvTranspose', 'QLinearConv', 'ConvInteger')
#: Operator types counted as matrix products (:func:`op_ms`).
MATMUL_OPS = ('MatMul', 'FusedMatMul', 'Gemm', 'FusedGemm', 'MatMulInteger',
              'QLinearMatMul')
WORKER_MODULE = 'mmseg_contrafusion.deployment.onnx_profile'


def _timed_windows(events: List[dict], skip: int) -> List[tuple]:
    """(start, end) of each ``model_run`` after the first ``skip``."""
    runs = sorted((e['ts'], e['ts'] + e['dur']) for e in events
                  if e.get('cat') == 'Session' and e['name'] == 'model_run')
    return runs[skip:]


def node_times(events: List[dict], skip: int = 0) -> Dict[str, List[float]]:
    """Kernel time (µs) of every node run, by operator type.

    Args:
        events (list[dict]): ONNX Runtime's profile (its JSON).
        skip (int): Leading ``model_run`` calls left out (warm-up).
            Defaults to 0.

    Returns:
        dict: Operator type -> the kernel times of its node runs inside the
        kept ``model_run`` windows.
    """
    windows = _timed_windows(events, skip)
    times: Dict[str, List[float]] = {}
    for e in events:
        if e.get('cat') != 'Node' or not e['name'].endswith('_kernel_time'):
            continue
        if any(start <= e['ts'] <= end for start, end in windows):
            times.setdefault(e['args']['op_name'], []).append(e['dur'])
    return times


def onnx_op_times(onnx_file: str,
                  shape: Sequence[int],
                  threads: Optional[int] = None,
                  runs: int = 3,
                  warmup: int = 1,
                  seed: int = 0) -> Dict[str, Any]:
    """Profile ``runs`` inferences of an exported model, by operator type.

    Args:
        onnx_file (str): A model from ``tools/deployment/pytorch2onnx.py``
            with input ``input`` of shape (1, 3, H, W).
        shape (Sequence[int]): Input size (H, W).
        threads (int, optional): Intra-op threads. Defaults to None (ONNX
            Runtime's choice).
        runs (int): Profiled runs. Defaults to 3.
        warmup (int): Runs before them, not counted. Defaults to 1.
        seed (int): Seed of the random input. Defaults to 0.

    Returns:
        dict: ``ops`` (``op``, ``ms`` per run, ``nodes`` per run), slowest
        first; ``node_ms`` (their sum), ``run_ms`` (mean wall time of a
        profiled ``model_run``), ``conv_ms`` (:data:`CONV_OPS`),
        ``matmul_ms`` (:data:`MATMUL_OPS`), ``runs`` and ``threads``.
    """
    import onnxruntime as ort

    if runs < 1:
        raise ValueError(f'runs must be >= 1, got {runs}')
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.enable_profiling = True
    with tempfile.TemporaryDirectory(prefix='onnx_profile_') as folder:
        options.profile_file_prefix = osp.join(folder, 'ort')
        session = ort.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider'])
        feed = {
            'input':
            np.random.RandomState(seed).randn(1, 3, *shape).astype(np.float32)
        }
        for _ in range(warmup + runs):
            session.run(None, feed)
        session.end_profiling()
        files = glob.glob(osp.join(folder, 'ort*.json'))
        if len(files) != 1:
            raise RuntimeError(f'ONNX Runtime wrote {len(files)} profiles '
                               f'for {onnx_file}, expected one')
        with open(files[0]) as f:
            events = json.load(f)
    windows = _timed_windows(events, warmup)
    times = node_times(events, warmup)
    ops = sorted((dict(op=op, ms=sum(us) / 1e3 / runs, nodes=len(us) / runs)
                  for op, us in times.items()),
                 key=lambda o: -o['ms'])
    return dict(
        ops=ops,
        node_ms=sum(o['ms'] for o in ops),
        run_ms=sum(end - start for start, end in windows) / 1e3 / runs,
        conv_ms=op_ms(ops, CONV_OPS),
        matmul_ms=op_ms(ops, MATMUL_OPS),
        runs=runs,
        threads=threads)


def op_ms(ops: Sequence[Dict[str, Any]], types: Sequence[str]) -> float:
    """Time (ms) of the operator ``types`` among ``ops``
    (:func:`onnx_op_times`'s)."""
    return sum(o['ms'] for o in ops if o['op'] in types)


def _profile_in_this_process(spec: Dict[str, Any]) -> Dict[str, Any]:
    return onnx_op_times(spec['onnx_file'], spec['shape'], spec.get('threads'),
                         spec['runs'], spec['warmup'])


def profile_in_own_process(onnx_file: str,
                           shape: Sequence[int],
                           threads: Optional[int] = None,
                           runs: int = 3,
                           warmup: int = 1) -> Dict[str, Any]:
    """:func:`onnx_op_times` in a fresh Python process.

    Raises:
        mmseg_contrafusion.utils.json_worker.WorkerError: With the worker's
            last output lines, if it failed.
    """
    with tempfile.TemporaryDirectory(prefix='onnx_profile_') as folder:
        return run_json_worker(
            WORKER_MODULE,
            dict(
                onnx_file=osp.abspath(onnx_file),
                shape=list(shape),
                threads=threads,
                runs=runs,
                warmup=warmup), folder, 'onnx_profile')


if __name__ == '__main__':
    os.environ.setdefault('PYTHONWARNINGS', 'ignore')
    serve_json_worker(sys.argv[1:], _profile_in_this_process)
