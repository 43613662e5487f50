"""Inference latency and peak memory of segmentors, several configs in one run.

    python tools/analysis/benchmark.py CONFIG [CONFIG ...] \
        [--shape 512 512] [--parts model encoder] [--runs 5] [--warmup 2] \
        [--device cpu|cuda] [--threads N] [--baseline CONFIG] \
        [--out bench.json]

What is timed (batch 1, a random image of ``--shape``, already normalised;
no data loading, no test-time augmentation):

* ``model``: whole-image inference, ``model.encode_decode`` = encoder(s),
  neck, decode head and the bilinear resize of the logits to the input size.
  Training-only modules (auxiliary heads, contrastive projection heads) do
  not run. This is the "testing time per image" of the results table.
* ``encoder``: ``model.extract_feat`` (all encoders and the neck; for
  ``DualEncoder`` both encoders).
* ``backbone``: every backbone-like submodule on its own (direct children
  of the segmentor whose name contains ``backbone`` or ``encoder``), called
  on the image; one row each (``backbone:<name>``).

All models are built first; every part gets ``--warmup`` untimed runs,
then ``--runs`` timed rounds follow, each calling every part of every model
once, so a change in machine load during the run affects all rows alike
(``--sequential`` times one model after the other instead, holding one
model in memory at a time). The table shows the median and the spread
(standard deviation, min and max) and the JSON keeps every run.
``CPU time`` is the median process CPU time (all threads) of a call. On a
shared machine it is less affected than the wall-clock time by other
processes, most so with ``--threads 1`` (several threads also burn CPU
waiting for each other when a core is taken away), where it is close to the
single-core compute time.

Peak memory is measured in one extra run: on CUDA
``torch.cuda.max_memory_allocated``; on CPU the parameters, buffers and input
plus the peak of the CPU allocator's live bytes during the forward (from
torch.profiler memory events). Models are built with random init (no
downloads), SyncBN reverted to BN. Configs that build the same model (same
``model`` settings apart from pretrained weights and test-time tiling) are
measured once and the figures shared.

``--baseline`` names a config (path, file name or stem) whose ``model`` row
the other rows are compared against (``x baseline`` = median / baseline
median, all from this run).
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import socket
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import params_flops as pf  # noqa: E402

PARTS = ('model', 'encoder', 'backbone')
SCHEMA = 'mmseg_contrafusion.benchmark/1'


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str) -> Dict[str, Any]:
    """Where and with what the figures were measured."""
    env: Dict[str, Any] = dict(
        device=device,
        cpu=cpu_name(),
        cpu_count=os.cpu_count(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        python=platform.python_version(),
        host=socket.gethostname(),
        load_average=list(os.getloadavg()) if hasattr(os, 'getloadavg')
        else None,
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


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize(torch.device(device))


def time_runs(fn: Callable[[], Any], runs: int, warmup: int,
              device: str) -> List[float]:
    """Seconds of each of ``runs`` calls of ``fn``, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    return [time_call(fn, device) for _ in range(runs)]


def time_call(fn: Callable[[], Any], device: str) -> float:
    """Seconds of one call of ``fn`` (synchronised on CUDA)."""
    return wall_and_cpu_time(fn, device)[0]


def wall_and_cpu_time(fn: Callable[[], Any],
                      device: str) -> Tuple[float, float]:
    """Wall-clock and process CPU seconds of one call of ``fn``.

    The CPU time counts all threads of this process; with one thread and
    other processes competing for the cores it stays closer to the compute
    time of the call than the wall-clock time does.
    """
    _sync(device)
    cpu_start = time.process_time()
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start, time.process_time() - cpu_start


def _resident_bytes(model: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size()
               for t in list(model.parameters()) + list(model.buffers()))


def peak_memory(fn: Callable[[], Any], model: torch.nn.Module,
                inputs: torch.Tensor, device: str) -> Dict[str, Any]:
    """Peak memory of one call of ``fn`` (bytes; see the module doc)."""
    if device.startswith('cuda'):
        dev = torch.device(device)
        _sync(device)
        torch.cuda.reset_peak_memory_stats(dev)
        fn()
        _sync(device)
        return dict(
            peak_bytes=int(torch.cuda.max_memory_allocated(dev)),
            method='torch.cuda.max_memory_allocated')
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
    activations = max([0] + totals)
    resident = _resident_bytes(model) + inputs.numel() * inputs.element_size()
    return dict(
        peak_bytes=int(resident + activations),
        activation_bytes=int(activations),
        method='params+buffers+input + peak CPU allocator bytes '
        '(torch.profiler)')


def summarise(times: Sequence[float]) -> Dict[str, float]:
    ordered = sorted(times)
    quartiles = (statistics.quantiles(ordered, n=4)
                 if len(ordered) >= 2 else [ordered[0]] * 3)
    return dict(
        median_s=statistics.median(ordered),
        mean_s=statistics.fmean(ordered),
        std_s=statistics.stdev(ordered) if len(ordered) >= 2 else 0.0,
        min_s=ordered[0],
        max_s=ordered[-1],
        iqr_s=quartiles[2] - quartiles[0])


def backbone_modules(model: torch.nn.Module) -> List[Tuple[str, Any]]:
    """Direct children of the segmentor that are backbones/encoders."""
    return [(name, child) for name, child in model.named_children()
            if 'backbone' in name or 'encoder' in name]


def part_functions(model: torch.nn.Module, parts: Sequence[str],
                   inputs: torch.Tensor) -> List[Tuple[str, Callable]]:
    metas = pf.image_metas(*inputs.shape[-2:])
    functions: List[Tuple[str, Callable]] = []
    for part in parts:
        if part == 'model':
            functions.append(
                ('model', lambda: pf.inference_forward(model, inputs, metas)))
        elif part == 'encoder':
            functions.append(
                ('encoder', lambda: pf.encoder_forward(model, inputs)))
        elif part == 'backbone':
            for name, child in backbone_modules(model):
                functions.append(
                    (f'backbone:{name}', lambda child=child: child(inputs)))
        else:
            raise ValueError(f'unknown part {part!r}; choose from {PARTS}')
    return functions


class _Entry:
    """One distinct model of the run and the parts timed on it."""

    def __init__(self, path: str, cfg, key: str) -> None:
        self.path = path
        self.cfg = cfg
        self.key = key
        self.model = None
        self.inputs = None
        self.functions: List[Tuple[str, Callable]] = []
        self.params: Dict[str, Any] = {}
        self.times: Dict[str, List[float]] = {}
        self.cpu_times: Dict[str, List[float]] = {}
        self.errors: Dict[str, str] = {}
        self.memory: Dict[str, Dict[str, Any]] = {}

    def build(self, shape, parts, device, random_init, with_params) -> None:
        self.model = pf.build_model(
            self.cfg, random_init=random_init, device=device)
        torch.manual_seed(0)
        self.inputs = torch.randn(1, 3, *shape, device=device)
        self.functions = part_functions(self.model, parts, self.inputs)
        probe = (min(shape[0], pf.PROBE_SIZE), min(shape[1], pf.PROBE_SIZE))
        for part, _ in self.functions if with_params else []:
            # Parameters that this part uses (for 'model': the
            # inference-time count of the results table).
            try:
                self.params[part] = pf.count_params(self.model, probe, part)
            except Exception as error:
                self.params[part] = dict(
                    error=f'{type(error).__name__}: {error}')
        self.times = {part: [] for part, _ in self.functions}
        self.cpu_times = {part: [] for part, _ in self.functions}

    def call(self, part: str, fn: Callable, device: str,
             timed: bool = True) -> None:
        if part in self.errors:
            return
        try:
            if timed:
                wall, cpu = wall_and_cpu_time(fn, device)
                self.times[part].append(wall)
                self.cpu_times[part].append(cpu)
            else:
                fn()
        except Exception as error:  # report, keep measuring the others
            self.errors[part] = f'{type(error).__name__}: {error}'

    def release(self) -> None:
        self.model = self.inputs = None
        self.functions = []

    def rows(self) -> List[dict]:
        rows = []
        for part, times in self.times.items():
            row: Dict[str, Any] = dict(
                config=self.path,
                name=osp.splitext(osp.basename(self.path))[0],
                part=part)
            if part in self.errors:
                row['error'] = self.errors[part]
            elif times:
                row.update(times_s=times, **summarise(times))
                cpu = self.cpu_times[part]
                row.update(
                    cpu_times_s=cpu, cpu_median_s=statistics.median(cpu))
                row.update(self.memory.get(part, {}))
            params = self.params.get(part)
            if params and 'error' in params:
                row['params_error'] = params['error']
            elif params:
                row['params'] = params
            rows.append(row)
        return rows


def _measure(entries: Sequence[_Entry], runs: int, warmup: int,
             device: str, with_memory: bool) -> None:
    """Warm up every part, then time ``runs`` rounds; each round calls every
    part of every entry once, so drifts in machine load hit all alike."""
    with torch.inference_mode():
        for entry in entries:
            for part, fn in entry.functions:
                for _ in range(warmup):
                    entry.call(part, fn, device, timed=False)
        for _ in range(runs):
            for entry in entries:
                for part, fn in entry.functions:
                    entry.call(part, fn, device)
        if with_memory:
            for entry in entries:
                for part, fn in entry.functions:
                    if part in entry.errors:
                        continue
                    try:
                        mem = peak_memory(fn, entry.model, entry.inputs,
                                          device)
                    except Exception as error:
                        entry.errors[part] = f'{type(error).__name__}: {error}'
                        continue
                    entry.memory[part] = dict(
                        peak_mem_mb=mem['peak_bytes'] / 2**20,
                        peak_mem_method=mem['method'])


def find_row(rows: Sequence[dict], config: str,
             part: str = 'model') -> Optional[dict]:
    """The row of ``config`` (path, file name or stem) and ``part``."""
    stem = osp.splitext(osp.basename(config))[0]
    for row in rows:
        if row['part'] != part:
            continue
        if config in (row['config'], osp.basename(row['config']),
                      row['name']) or stem == row['name']:
            return row
    return None


def run_benchmark(configs: Sequence[str],
                  shape: Tuple[int, int],
                  parts: Sequence[str] = ('model', ),
                  runs: int = 5,
                  warmup: int = 2,
                  device: str = 'cpu',
                  threads: Optional[int] = None,
                  baseline: Optional[str] = None,
                  random_init: bool = True,
                  with_params: bool = True,
                  with_memory: bool = True,
                  cfg_options: Optional[dict] = None,
                  sequential: bool = False,
                  log: Callable[[str], None] = print,
                  config_parts: Optional[Dict[str, Sequence[str]]] = None
                  ) -> Dict[str, Any]:
    """Benchmark several configs in one process; returns the JSON dict.

    By default all models are built first and timed in interleaved rounds;
    ``sequential=True`` measures one model at a time (less memory).
    ``config_parts`` maps a config (as given in ``configs``) to the parts
    timed for it instead of ``parts``.
    """
    if threads:
        torch.set_num_threads(threads)
    configs = pf.expand_configs(configs)
    entries: List[_Entry] = []
    order: List[Tuple[str, _Entry]] = []
    for path in configs:
        cfg = pf.load_config(path, cfg_options)
        key = pf.model_key(cfg)
        same = next((e for e in entries if e.key == key), None)
        if same is not None:
            log(f'[benchmark] {path}: same model as {same.path}')
        else:
            same = _Entry(path, cfg, key)
            same.parts = tuple((config_parts or {}).get(path, parts))
            entries.append(same)
        order.append((path, same))
    if sequential:
        for entry in entries:
            log(f'[benchmark] measuring {entry.path}')
            entry.build(shape, entry.parts, device, random_init, with_params)
            _measure([entry], runs, warmup, device, with_memory)
            entry.release()
    else:
        for entry in entries:
            log(f'[benchmark] building {entry.path}')
            entry.build(shape, entry.parts, device, random_init, with_params)
        log(f'[benchmark] timing {len(entries)} models in {runs} '
            'interleaved rounds')
        _measure(entries, runs, warmup, device, with_memory)
        for entry in entries:
            entry.release()
    rows: List[dict] = []
    for path, entry in order:
        for row in entry.rows():
            if path != entry.path:
                row = dict(
                    row,
                    config=path,
                    name=osp.splitext(osp.basename(path))[0],
                    same_model_as=entry.path)
            rows.append(row)
    result: Dict[str, Any] = dict(
        schema=SCHEMA,
        env=environment(device),
        settings=dict(
            shape=list(shape),
            batch=1,
            runs=runs,
            warmup=warmup,
            parts=list(parts),
            random_init=random_init,
            schedule='sequential' if sequential else 'interleaved'),
        results=rows)
    if baseline:
        base = find_row(rows, baseline)
        if base is None or 'median_s' not in base:
            raise SystemExit(
                f'--baseline {baseline}: no measured model row for it; give '
                'one of the benchmarked configs (path, file name or stem)')
        result['baseline'] = dict(
            config=base['config'], part='model', median_s=base['median_s'])
        for row in rows:
            if 'median_s' in row:
                row['ratio_to_baseline'] = row['median_s'] / base['median_s']
    return result


def format_table(result: Dict[str, Any]) -> str:
    """Markdown table of a benchmark result."""
    has_ratio = 'baseline' in result
    header = ['Config', 'Part', 'Median (ms)', 'Std (ms)', 'Min-max (ms)',
              'CPU time (ms)', 'Peak mem (MB)', 'Params used (M)']
    if has_ratio:
        header.append('x baseline')
    rows = []
    for r in result['results']:
        if 'error' in r:
            cells = [r['name'], r['part'], r['error']] + [''] * (
                len(header) - 3)
            rows.append(cells)
            continue
        params = r.get('params')
        cells = [
            r['name'] + (' (=)' if r.get('same_model_as') else ''), r['part'],
            f"{r['median_s'] * 1e3:.1f}", f"{r['std_s'] * 1e3:.1f}",
            f"{r['min_s'] * 1e3:.1f}-{r['max_s'] * 1e3:.1f}",
            f"{r['cpu_median_s'] * 1e3:.1f}" if 'cpu_median_s' in r else '-',
            f"{r['peak_mem_mb']:.0f}" if 'peak_mem_mb' in r else '-',
            f"{params['inference'] / 1e6:.2f}" if params else '-'
        ]
        if has_ratio:
            cells.append(f"{r['ratio_to_baseline']:.2f}")
        rows.append(cells)
    env = result['env']
    settings = result['settings']
    where = (env.get('gpu') if env['device'].startswith('cuda') else
             f"{env['cpu']}, {env['threads']} threads")
    lines = [
        pf.markdown_table(header, rows), '',
        f"Batch 1, input {settings['shape'][0]}x{settings['shape'][1]}, "
        f"{settings['warmup']} warm-up + {settings['runs']} timed runs, "
        f"{env['device']} ({where}), torch {env['torch']}, "
        f"{settings.get('schedule', 'interleaved')} rounds" + (
            f", load average {env['load_average'][0]:.2f} at the end."
            if env.get('load_average') else '.')
    ]
    if has_ratio:
        base = result['baseline']
        lines.append(
            f"x baseline: median / median of {osp.basename(base['config'])} "
            f"(model, {base['median_s'] * 1e3:.1f} ms), same run.")
    if any(r.get('same_model_as') for r in result['results']):
        lines.append('(=): same model as an earlier row, measured once.')
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Inference latency and peak memory of segmentors')
    parser.add_argument(
        'configs', nargs='+', help='config files, folders or glob patterns')
    parser.add_argument(
        '--shape', type=int, nargs='+', default=[512, 512],
        help='input size H W (or one number for a square)')
    parser.add_argument(
        '--parts', nargs='+', default=['model'], choices=PARTS,
        help='what to time: model (whole inference), encoder '
        '(extract_feat), backbone (each backbone submodule)')
    parser.add_argument('--runs', type=int, default=5, help='timed runs')
    parser.add_argument('--warmup', type=int, default=2, help='warm-up runs')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument(
        '--threads', type=int, help='CPU threads (torch.set_num_threads)')
    parser.add_argument(
        '--baseline', help='config whose model row the ratios refer to')
    parser.add_argument(
        '--no-random-init', dest='random_init', action='store_false',
        help='keep the pretrained init_cfg of the configs (downloads)')
    parser.add_argument(
        '--no-params', action='store_true', help='skip parameter counting')
    parser.add_argument(
        '--no-memory', action='store_true', help='skip peak memory')
    parser.add_argument(
        '--sequential', action='store_true',
        help='measure one model at a time instead of building all and '
        'timing them in interleaved rounds (less memory)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of every config, key=value pairs')
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error('--runs must be >= 1 and --warmup >= 0')
    return args


def main(argv=None) -> Dict[str, Any]:
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f'--device {args.device}: CUDA is not available')
    result = run_benchmark(
        args.configs,
        pf.parse_shape(args.shape),
        parts=args.parts,
        runs=args.runs,
        warmup=args.warmup,
        device=args.device,
        threads=args.threads,
        baseline=args.baseline,
        random_init=args.random_init,
        with_params=not args.no_params,
        with_memory=not args.no_memory,
        cfg_options=args.cfg_options,
        sequential=args.sequential,
        log=lambda msg: print(msg, file=sys.stderr))
    print(format_table(result))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    main()
