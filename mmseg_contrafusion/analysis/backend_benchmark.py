"""Inference latency of the same models under several backends.

Eager PyTorch and ONNX Runtime each keep a thread pool; a live ONNX Runtime
pool slows eager PyTorch in the same process (and the other way round), so
a comparison inside one process is unfair. Here every backend is timed in a
fresh process of its own, one after the other, on the same models, input
and thread count:

1. the parent exports every config to ONNX (random init,
   :mod:`mmseg_contrafusion.deployment`) before any backend is timed;
2. one worker process per backend builds all models and times them in
   interleaved rounds (:func:`.inference_benchmark.measure_rounds`);
3. the rows are merged, each with its ``backend``, and divided by the
   baseline's row (its config on the first backend named).

What is timed is ``model``: whole-image inference at ``shape``, batch 1 (the
exported graph is ``encode_decode``: logits at input size).
"""
import os
import os.path as osp
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..utils.json_worker import run_json_worker, serve_json_worker
from .configs import config_stem, expand_configs
from .inference_benchmark import SCHEMA, find_row
from .timing import environment

#: Backends :func:`run_backends` times.
BACKENDS = ('pytorch', 'onnxruntime')
WORKER_MODULE = 'mmseg_contrafusion.analysis.backend_benchmark'


def export_models(configs: Sequence[str],
                  shape: Tuple[int, int],
                  folder: str,
                  cfg_options: Optional[dict] = None) -> Dict[str, str]:
    """Export each config's random init to ``folder/<stem>.onnx``.

    Returns:
        dict: Config -> its ONNX file.
    """
    import torch

    from ..deployment.onnx_export import build_segmentor, export_onnx

    files = {}
    for path in configs:
        torch.manual_seed(0)
        out = osp.join(folder, f'{config_stem(path)}.onnx')
        export_onnx(build_segmentor(path, None, cfg_options), shape, out)
        files[path] = out
    return files


def _onnx_rows(spec: Dict[str, Any]) -> List[dict]:
    import torch

    from ..deployment.onnx_export import onnx_session
    from .configs import load_config, model_key
    from .inference_benchmark import BenchmarkEntry, measure_rounds

    entries = []
    for path, onnx_file in spec['onnx_files'].items():
        cfg = load_config(path, spec.get('cfg_options'))
        entry = BenchmarkEntry(path, cfg, model_key(cfg), ('model', ))
        session = onnx_session(onnx_file, spec.get('threads'))
        torch.manual_seed(0)
        entry.inputs = torch.randn(1, 3, *spec['shape'])
        feed = {'input': entry.inputs.numpy()}
        entry.set_functions([('model',
                              lambda s=session, f=feed: s.run(None, f))])
        entries.append(entry)
    measure_rounds(
        entries, spec['runs'], spec['warmup'], 'cpu', with_memory=False)
    return [row for entry in entries for row in entry.rows()]


def _pytorch_rows(spec: Dict[str, Any]) -> List[dict]:
    from .inference_benchmark import run_benchmark

    return run_benchmark(
        spec['configs'],
        tuple(spec['shape']),
        runs=spec['runs'],
        warmup=spec['warmup'],
        threads=spec.get('threads'),
        with_params=False,
        with_memory=False,
        cfg_options=spec.get('cfg_options'),
        log=lambda msg: None)['results']


def _time_in_this_process(spec: Dict[str, Any]) -> Dict[str, Any]:
    """The worker's measurement: one backend's rows and the environment."""
    if spec.get('threads'):
        import torch
        torch.set_num_threads(spec['threads'])
    rows = (_onnx_rows if spec['backend'] == 'onnxruntime' else _pytorch_rows)(
        spec)
    return dict(rows=rows, env=environment('cpu'))


def time_backend(spec: Dict[str, Any], folder: str) -> Dict[str, Any]:
    """Run one backend's worker process and read its rows.

    Raises:
        WorkerError: With the worker's last output lines, if it failed.
    """
    return run_json_worker(WORKER_MODULE, spec, folder, spec['backend'])


def run_backends(configs: Sequence[str],
                 shape: Tuple[int, int],
                 backends: Sequence[str] = BACKENDS,
                 runs: int = 5,
                 warmup: int = 2,
                 threads: Optional[int] = None,
                 baseline: Optional[str] = None,
                 cfg_options: Optional[dict] = None,
                 onnx_files: Optional[Dict[str, str]] = None,
                 log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Time every config under every backend, a process per backend.

    Args:
        configs (Sequence[str]): Config files, folders or globs.
        shape (tuple[int, int]): Input size (H, W).
        backends (Sequence[str]): Of :data:`BACKENDS`. Defaults to both.
        runs (int): Timed rounds. Defaults to 5.
        warmup (int): Untimed calls first. Defaults to 2.
        threads (int, optional): Threads of every backend (torch's and ONNX
            Runtime's intra-op pool). Defaults to None (their defaults).
        baseline (str, optional): Config (path, file name or stem) whose row
            on the first backend the others are divided by.
        cfg_options (dict, optional): Overrides of every config.
        onnx_files (dict, optional): Config -> an export of it at ``shape``
            (:func:`export_models`) to time instead of exporting again, e.g.
            when several thread counts are timed. Defaults to None.
        log (callable): Progress messages. Defaults to print.

    Returns:
        dict: As :func:`.inference_benchmark.run_benchmark`'s result, each
        row with ``backend``; ``settings.schedule`` says how it was timed.

    Raises:
        SystemExit: For an unknown backend, or a baseline with no row.
    """
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise SystemExit(f'--backend {unknown[0]}: not one of '
                         f'{", ".join(BACKENDS)}')
    paths = expand_configs(configs)
    rows: List[dict] = []
    envs = {}
    with tempfile.TemporaryDirectory(prefix='backend_benchmark_') as folder:
        spec = dict(
            configs=paths,
            shape=list(shape),
            runs=runs,
            warmup=warmup,
            threads=threads,
            cfg_options=cfg_options)
        if 'onnxruntime' in backends and onnx_files:
            missing = [p for p in paths if p not in onnx_files]
            if missing:
                raise SystemExit(f'no ONNX export given for {missing[0]}')
            spec['onnx_files'] = {p: onnx_files[p] for p in paths}
        elif 'onnxruntime' in backends:
            log(f'[benchmark] exporting {len(paths)} model(s) to ONNX')
            spec['onnx_files'] = export_models(paths, shape, folder,
                                               cfg_options)
        for backend in backends:
            log(f'[benchmark] timing {backend} in its own process')
            out = time_backend(dict(spec, backend=backend), folder)
            envs[backend] = out['env']
            rows += [dict(row, backend=backend) for row in out['rows']]
    env = environment('cpu')
    env['threads'] = threads or env['threads']
    result: Dict[str, Any] = dict(
        schema=SCHEMA,
        env=env,
        settings=dict(
            shape=list(shape),
            batch=1,
            runs=runs,
            warmup=warmup,
            parts=['model'],
            backends=list(backends),
            random_init=True,
            schedule='one process per backend, interleaved rounds in each'),
        backend_env=envs,
        results=rows)
    if baseline:
        first = [r for r in rows if r['backend'] == backends[0]]
        base = find_row(first, baseline)
        if base is None or 'median_s' not in base:
            raise SystemExit(f'--baseline {baseline}: no measured row for it')
        result['baseline'] = dict(
            config=base['config'],
            backend=backends[0],
            part='model',
            median_s=base['median_s'])
        for row in rows:
            if 'median_s' in row:
                row['ratio_to_baseline'] = row['median_s'] / base['median_s']
    return result


if __name__ == '__main__':
    os.environ.setdefault('PYTHONWARNINGS', 'ignore')
    serve_json_worker(sys.argv[1:], _time_in_this_process)
