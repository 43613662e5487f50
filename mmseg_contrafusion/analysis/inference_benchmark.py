"""Inference latency and peak memory of segmentors, several configs at once.

What is timed (batch 1, a random image of ``shape``, already normalised; no
data loading, no test-time augmentation):

* ``model``: whole-image inference, ``model.encode_decode`` = encoder(s),
  neck, decode head and the bilinear resize of the logits to the input size.
  Training-only modules (auxiliary heads, contrastive projection heads) do
  not run. This is the "testing time per image" of the results table.
* ``encoder``: ``model.extract_feat`` (all encoders and the neck; for
  ``DualEncoder`` both encoders).
* ``backbone``: every backbone-like submodule on its own (direct children
  of the segmentor whose name contains ``backbone`` or ``encoder``), called
  on the image; one row each (``backbone:<name>``).

All models are built first; every part gets ``warmup`` untimed runs, then
``runs`` timed rounds follow, each calling every part of every model once,
so a change in machine load during the run affects all rows alike
(``sequential`` times one model after the other instead, holding one model
in memory at a time). Rows keep the median and the spread and every run;
``cpu_median_s`` is the median process CPU time (all threads) of a call.

Peak memory is measured in one extra run (:func:`.memory.peak_memory`; on
CPU the parameters, buffers and input plus the allocator's peak). Models are
built with random init (no downloads), SyncBN reverted to BN. Configs that
build the same model (:func:`.configs.model_key`) are measured once and the
figures shared. Every part is a forward callable, so
:func:`measure_rounds` times any object with the :class:`BenchmarkEntry`
interface.
"""
import os.path as osp
import statistics
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .configs import config_stem, expand_configs, load_config, model_key
from .memory import MB, peak_memory, tensor_bytes
from .model_builders import build_model, part_functions
from .params import capped_probe, count_params
from .tables import markdown_table
from .timing import environment, error_text, summarise, wall_and_cpu_time

SCHEMA = 'mmseg_contrafusion.benchmark/1'


class BenchmarkEntry:
    """One distinct model of a run and the forward callables timed on it.

    Args:
        path (str): Its (first) config file.
        cfg (mmengine.Config): The loaded config.
        key (str): Its :func:`.configs.model_key`.
        parts (Sequence[str]): What to time (``model``, ``encoder``,
            ``backbone``). Defaults to ``('model', )``.
    """

    def __init__(self,
                 path: str,
                 cfg,
                 key: str,
                 parts: Sequence[str] = ('model', )) -> None:
        self.path = path
        self.cfg = cfg
        self.key = key
        self.parts = tuple(parts)
        self.model = None
        self.inputs = None
        self.functions: List[Tuple[str, Callable]] = []
        self.params: Dict[str, Any] = {}
        self.times: Dict[str, List[float]] = {}
        self.cpu_times: Dict[str, List[float]] = {}
        self.errors: Dict[str, str] = {}
        self.memory: Dict[str, Dict[str, Any]] = {}

    def build(self, shape: Tuple[int, int], device: str, random_init: bool,
              with_params: bool) -> None:
        """Build the model, a random input and the forward callables."""
        self.model = build_model(
            self.cfg, random_init=random_init, device=device)
        torch.manual_seed(0)
        self.inputs = torch.randn(1, 3, *shape, device=device)
        self.set_functions(part_functions(self.model, self.parts, self.inputs))
        for part, _ in self.functions if with_params else []:
            # Parameters that this part uses (for 'model': the
            # inference-time count of the results table).
            try:
                self.params[part] = count_params(self.model,
                                                 capped_probe(shape), part)
            except Exception as error:
                self.params[part] = dict(error=error_text(error))

    def set_functions(self, functions: Sequence[Tuple[str, Callable]]) -> None:
        """The named forward callables to time (any backend), no times yet.

        Args:
            functions (Sequence[tuple[str, Callable]]): ``(part, fn)``
                pairs; ``fn()`` runs that part once.
        """
        self.functions = list(functions)
        self.times = {part: [] for part, _ in self.functions}
        self.cpu_times = {part: [] for part, _ in self.functions}

    def resident_bytes(self) -> int:
        """Parameters, buffers and input: memory held across a forward."""
        model = self.model
        tensors = [] if model is None else (list(model.parameters()) +
                                            list(model.buffers()))
        return tensor_bytes(tensors + [self.inputs])

    def call(self,
             part: str,
             fn: Callable,
             device: str,
             timed: bool = True) -> None:
        """Run (and time) one part; an error stops that part, not others."""
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
            self.errors[part] = error_text(error)

    def release(self) -> None:
        """Drop the model and its callables (the figures stay)."""
        self.model = self.inputs = None
        self.functions = []

    def rows(self) -> List[dict]:
        """One result row per part."""
        rows = []
        for part, times in self.times.items():
            row: Dict[str, Any] = dict(
                config=self.path, name=config_stem(self.path), part=part)
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


def measure_rounds(entries: Sequence[BenchmarkEntry], runs: int, warmup: int,
                   device: str, with_memory: bool) -> None:
    """Warm up every part, then time ``runs`` rounds.

    Each round calls every part of every entry once, so drifts in machine
    load hit all alike; then, with ``with_memory``, one more call of each
    part measures its peak memory.
    """
    with torch.inference_mode():
        for entry in entries:
            for part, fn in entry.functions:
                for _ in range(warmup):
                    entry.call(part, fn, device, timed=False)
        for _ in range(runs):
            for entry in entries:
                for part, fn in entry.functions:
                    entry.call(part, fn, device)
        if not with_memory:
            return
        for entry in entries:
            for part, fn in entry.functions:
                if part in entry.errors:
                    continue
                try:
                    mem = peak_memory(fn, device, entry.resident_bytes())
                except Exception as error:
                    entry.errors[part] = error_text(error)
                    continue
                entry.memory[part] = dict(
                    peak_mem_mb=mem['peak_bytes'] / MB,
                    peak_mem_method=mem['method'])


def find_row(rows: Sequence[dict],
             config: str,
             part: str = 'model') -> Optional[dict]:
    """The row of ``config`` (path, file name or stem) and ``part``."""
    stem = config_stem(config)
    for row in rows:
        if row['part'] != part:
            continue
        if config in (row['config'], osp.basename(
                row['config']), row['name']) or stem == row['name']:
            return row
    return None


def run_benchmark(
        configs: Sequence[str],
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
        config_parts: Optional[Dict[str,
                                    Sequence[str]]] = None) -> Dict[str, Any]:
    """Benchmark several configs in one process (see the module doc).

    Args:
        configs (Sequence[str]): Config files, folders or glob patterns.
        shape (tuple[int, int]): Input size (H, W).
        parts (Sequence[str]): What to time. Defaults to ``('model', )``.
        runs (int): Timed rounds. Defaults to 5.
        warmup (int): Untimed calls of each part first. Defaults to 2.
        device (str): Device. Defaults to ``'cpu'``.
        threads (int, optional): ``torch.set_num_threads``.
        baseline (str, optional): Config (path, file name or stem) whose
            ``model`` row the others are divided by (``ratio_to_baseline``).
        random_init (bool): No pretrained weights. Defaults to True.
        with_params (bool): Count the parameters each part uses.
            Defaults to True.
        with_memory (bool): Measure peak memory. Defaults to True.
        cfg_options (dict, optional): Overrides of every config.
        sequential (bool): One model at a time (less memory) instead of
            interleaved rounds. Defaults to False.
        log (Callable[[str], None]): Progress messages. Defaults to print.
        config_parts (dict, optional): Config (as given in ``configs``) ->
            the parts timed for it instead of ``parts``.

    Returns:
        dict: The JSON: ``schema``, ``env``, ``settings``, ``results`` (one
        row per config and part) and, with a baseline, ``baseline``.

    Raises:
        SystemExit: If ``baseline`` names no measured model row.
    """
    if threads:
        torch.set_num_threads(threads)
    entries: List[BenchmarkEntry] = []
    order: List[Tuple[str, BenchmarkEntry]] = []
    for path in expand_configs(configs):
        cfg = load_config(path, cfg_options)
        key = model_key(cfg)
        same = next((e for e in entries if e.key == key), None)
        if same is not None:
            log(f'[benchmark] {path}: same model as {same.path}')
        else:
            same = BenchmarkEntry(path, cfg, key, (config_parts
                                                   or {}).get(path, parts))
            entries.append(same)
        order.append((path, same))
    groups = [[e] for e in entries] if sequential else [entries]
    for group in groups:
        for entry in group:
            log(f"[benchmark] {'measuring' if sequential else 'building'} "
                f'{entry.path}')
            entry.build(shape, device, random_init, with_params)
        if not sequential:
            log(f'[benchmark] timing {len(entries)} models in {runs} '
                'interleaved rounds')
        measure_rounds(group, runs, warmup, device, with_memory)
        for entry in group:
            entry.release()
    rows: List[dict] = []
    for path, entry in order:
        for row in entry.rows():
            if path != entry.path:
                row = dict(
                    row,
                    config=path,
                    name=config_stem(path),
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
    """Markdown table of a :func:`run_benchmark` result, with its notes."""
    has_ratio = 'baseline' in result
    has_backend = any('backend' in r for r in result['results'])
    header = [
        'Config', 'Part', 'Median (ms)', 'Std (ms)', 'Min-max (ms)',
        'CPU time (ms)', 'Peak mem (MB)', 'Params used (M)'
    ]
    if has_ratio:
        header.append('x baseline')
    if has_backend:
        header.insert(2, 'Backend')
    rows = []
    for r in result['results']:
        if 'error' in r:
            cells = [r['name'], r['part'], r['error']] + [''] * (
                len(header) - 3 - has_backend)
            if has_backend:
                cells.insert(2, r.get('backend', ''))
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
        if has_backend:
            cells.insert(2, r.get('backend', ''))
        rows.append(cells)
    env = result['env']
    settings = result['settings']
    where = (
        env.get('gpu') if env['device'].startswith('cuda') else
        f"{env['cpu']}, {env['threads']} threads")
    lines = [
        markdown_table(header, rows), '',
        f"Batch 1, input {settings['shape'][0]}x{settings['shape'][1]}, "
        f"{settings['warmup']} warm-up + {settings['runs']} timed runs, "
        f"{env['device']} ({where}), torch {env['torch']}, "
        f"{settings.get('schedule', 'interleaved')} rounds" +
        (f", load average {env['load_average'][0]:.2f} at the end."
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
