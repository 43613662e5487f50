r"""Training-step time and memory of segmentors, several configs in one run.

    python tools/analysis/benchmark_train.py CONFIG [CONFIG ...] \
        [--baseline CONFIG] [--shape 512 512] [--batch 2] [--warmup 2] \
        [--runs 5] [--device cpu|cuda] [--threads N] [--without-contrast] \
        [--in-process | --interleave] [--cfg-options k=v ...] \
        [--out bench.json]

What is timed: ``model.train_step(data, optim_wrapper)``, i.e. the data
preprocessor (normalisation), the forward with every training loss, the
backward pass and the optimizer step, on a fixed batch of ``--batch`` random
images with random labels (blocks of 32x32 pixels, one random class each, so
every class region is large enough for per-class samplers) at ``--shape``.
The model's data preprocessor is set to pad to ``--shape`` exactly, so the
network sees that size whatever the config's crop size. No data loading.

Models are built from the configs with random init (no downloads) and
SyncBN reverted to BN; the optimizer is the config's ``optim_wrapper``.
Each model gets ``--warmup`` untimed steps, then ``--runs`` timed ones; the
table shows the median and the spread (standard deviation, min-max) and the
JSON keeps every step. Two clocks per step: the wall time and, on CPU, the
CPU time of the process (``time.process_time``, all threads). On a shared
CPU the wall time mostly measures the other processes; the CPU time measures
the step's own work (with ``--threads 1`` it has no OpenMP spin-waiting
either), so its ratios are the ones to quote from such a machine.

Memory, per model, measured after the warm-up and timed steps (so the
optimizer state exists), in MB:

* ``step``, the memory a training step allocates on top of the model and
  its optimizer state (activations, gradients, temporaries; the column to
  compare models by): on CUDA the peak of ``torch.cuda.max_memory_allocated``
  over one step minus the allocation before it; on CPU the peak of the CPU
  allocator's live tensor bytes during one step, from ``torch.profiler``'s
  memory events (deterministic). ``tracemalloc`` would miss torch's
  allocations.
* ``peak``: on CUDA the absolute ``max_memory_allocated`` of that step; on
  CPU the peak resident set size of the process during a step (``VmHWM`` of
  ``/proc/self/status``, reset through ``/proc/self/clear_refs``; where that
  is not allowed, the process-lifetime ``ru_maxrss`` and the method says
  so). The JSON also has ``step_rss_mb``, the RSS increase during the step;
  RSS figures move with the allocator's caching by +-100 MB and more, so
  they are not for comparing close models.

By default every model is measured in a subprocess of its own, so memory
figures and allocator state do not carry over from one model to the next;
``--in-process`` measures them all in this process, one after the other
(faster, less isolated). ``--interleave`` builds all models in this process
and times their steps in turns (round ``r`` starts with model ``r``), so a
load that changes during the run affects every model alike; its memory
figures come from one subprocess per model running its steps alone (models
sharing a process share its allocator, which would blur the RSS figures).

``--without-contrast`` also measures, for each config, the same model with
its contrastive terms removed (``loss_contrast`` and ``cac`` set to None, a
``CACFCNHead`` turned into the ``FCNHead`` it extends): "the same model with
CE + Dice only". These rows are named ``<config stem>:no-contrast``; models
that turn out equal are measured once. ``--baseline`` names the row (config
path, file name, stem, or ``<stem>:no-contrast``) the others are compared
with: ``x time`` = median / baseline median; ``x CPU time`` and
``x step mem`` likewise.
"""
import argparse
import copy
import datetime
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as bm  # noqa: E402
import params_flops as pf  # noqa: E402

SCHEMA = 'mmseg_contrafusion.benchmark_train/1'
NO_CONTRAST = ':no-contrast'
# Keys set to None to remove the contrastive terms of a model config; those
# in DEFAULT_NONE_KEYS default to None and are dropped instead, so that a
# stripped config equals one that never had them.
CONTRAST_KEYS = ('loss_contrast', 'cac')
DEFAULT_NONE_KEYS = ('cac', )
# Heads that exist only to add a contrastive term -> the head they extend.
CONTRAST_HEAD_TYPES = {'CACFCNHead': 'FCNHead'}
RESULT_MARKER = 'BENCHMARK_TRAIN_RESULT '
MODE_NOTES = {
    'subprocess': 'each model measured alone in its own process',
    'in-process': 'the models measured one after the other in one process',
    'interleaved': 'timed steps interleaved (the models in turns, one '
    'process); memory of each model alone in its own process',
}
LABEL_BLOCK = 32


# --------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------
def strip_contrast(node: Any,
                   keys: Sequence[str] = CONTRAST_KEYS) -> List[str]:
    """Remove the contrastive terms of a model config, in place.

    Every ``keys`` entry becomes None (those in :data:`DEFAULT_NONE_KEYS`,
    whose default is None, are dropped), and heads of a type in
    :data:`CONTRAST_HEAD_TYPES` become that base type with the keys dropped.

    Returns:
        list[str]: Dotted paths of what was removed or changed.
    """
    removed: List[str] = []

    def visit(item: Any, path: str) -> None:
        if isinstance(item, dict):
            if item.get('type') in CONTRAST_HEAD_TYPES:
                removed.append(f"{path}.type={item['type']}")
                item['type'] = CONTRAST_HEAD_TYPES[item['type']]
                for key in keys:
                    if key in item:
                        item.pop(key)
                        removed.append(f'{path}.{key}')
            for key in list(item.keys()):
                if key in keys:
                    if item[key] is not None:
                        removed.append(f'{path}.{key}')
                    if key in DEFAULT_NONE_KEYS:
                        item.pop(key)
                    else:
                        item[key] = None
                else:
                    visit(item[key], f'{path}.{key}' if path else key)
        elif isinstance(item, (list, tuple)):
            for i, sub in enumerate(item):
                visit(sub, f'{path}[{i}]')

    visit(node, '')
    return removed


def variant_config(path: str,
                   without_contrast: bool,
                   shape: Tuple[int, int],
                   cfg_options: Optional[dict] = None):
    """The config of one measured model; returns ``(cfg, removed)``."""
    cfg = pf.load_config(path, cfg_options)
    removed: List[str] = []
    if without_contrast:
        removed = strip_contrast(cfg.model)
    # Pad exactly to the measured size (the configs pad to their crop).
    preprocessor = cfg.model.get('data_preprocessor')
    if preprocessor is not None:
        preprocessor['size'] = tuple(shape)
        preprocessor.pop('size_divisor', None)
    return cfg, removed


def row_name(path: str, without_contrast: bool) -> str:
    stem = osp.splitext(osp.basename(path))[0]
    return stem + (NO_CONTRAST if without_contrast else '')


# --------------------------------------------------------------------------
# measuring one model
# --------------------------------------------------------------------------
def random_batch(model: Any,
                 batch: int,
                 shape: Tuple[int, int],
                 num_classes: int,
                 device: str = 'cpu',
                 seed: int = 0) -> Dict[str, Any]:
    """``batch`` random uint8 images and block-wise random labels.

    ``model`` is not used (the signature other tools call).
    """
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    height, width = shape
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.randint(0, 256, (3, height, width), generator=g,
                          dtype=torch.uint8).to(device))
        blocks = torch.randint(
            0, num_classes, (1, 1, -(-height // LABEL_BLOCK),
                             -(-width // LABEL_BLOCK)), generator=g)
        label = torch.nn.functional.interpolate(
            blocks.float(), scale_factor=LABEL_BLOCK,
            mode='nearest').long()[0, :, :height, :width]
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label.to(device))
        sample.set_metainfo(
            dict(img_shape=(height, width), ori_shape=(height, width)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _proc_status(field: str) -> Optional[int]:
    """A ``kB`` field of /proc/self/status in bytes (None if absent)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class MemoryMeter:
    """Memory over a block of training steps (see the module doc)."""

    def __init__(self, device: str) -> None:
        self.device = device

    def start(self) -> None:
        if self.device.startswith('cuda'):
            dev = torch.device(self.device)
            torch.cuda.synchronize(dev)
            self.before = torch.cuda.memory_allocated(dev)
            torch.cuda.reset_peak_memory_stats(dev)
            return
        self.reset = _reset_peak_rss()
        self.before = _proc_status('VmRSS') or 0

    def stop(self) -> Dict[str, Any]:
        if self.device.startswith('cuda'):
            dev = torch.device(self.device)
            torch.cuda.synchronize(dev)
            peak = torch.cuda.max_memory_allocated(dev)
            return dict(
                peak_mem_mb=peak / 2**20,
                step_mem_mb=max(0, peak - self.before) / 2**20,
                mem_method='torch.cuda.max_memory_allocated (peak: '
                'absolute; step: above the allocation before the step)')
        peak = _proc_status('VmHWM') if self.reset else None
        rss_method = 'peak RSS (VmHWM, reset before the step)'
        if peak is None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            rss_method = 'process-lifetime peak RSS (ru_maxrss)'
        return dict(
            peak_mem_mb=peak / 2**20,
            step_rss_mb=max(0, peak - self.before) / 2**20,
            rss_method=rss_method)


def tensor_peak_mb(fn: Callable[[], Any]) -> float:
    """Peak bytes of CPU tensors allocated during ``fn`` (torch.profiler).

    The profiler's running total of the CPU allocator's live bytes starts at
    0 with the profiling: its maximum is the most memory ``fn`` had
    allocated at once on top of what existed before (for a training step:
    activations, gradients, temporaries). Deterministic, unlike the RSS.
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
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
    return max([0] + totals) / 2**20


def step_memory(step: Callable[[], Any], device: str,
                steps: int = 1) -> Dict[str, Any]:
    """Memory figures of ``steps`` training steps (at least one)."""
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


class TrainStep:
    """One built model, its optimizer and a fixed random batch.

    Calling it runs one ``model.train_step``; ``row`` collects the figures.
    """

    def __init__(self,
                 path: str,
                 without_contrast: bool = False,
                 shape: Tuple[int, int] = (512, 512),
                 batch: int = 2,
                 device: str = 'cpu',
                 cfg_options: Optional[dict] = None,
                 random_init: bool = True,
                 seed: int = 0) -> None:
        from mmengine.optim import build_optim_wrapper
        self.device = device
        self.row: Dict[str, Any] = dict(
            config=path,
            name=row_name(path, without_contrast),
            without_contrast=without_contrast)
        cfg, removed = variant_config(path, without_contrast, shape,
                                      cfg_options)
        if without_contrast:
            self.row['removed'] = removed
        torch.manual_seed(seed)
        self.model = pf.build_model(
            cfg, random_init=random_init, device=device)
        self.model.train()
        self.row['params_m'] = sum(
            p.numel() for p in self.model.parameters()) / 1e6
        self.optim_wrapper = build_optim_wrapper(
            self.model, copy.deepcopy(cfg.optim_wrapper))
        num_classes = int(self.model.decode_head.num_classes)
        self.data = random_batch(self.model, batch, shape, num_classes,
                                 device, seed)
        self.log_vars: Dict[str, Any] = {}

    def __call__(self) -> None:
        self.log_vars = self.model.train_step(self.data, self.optim_wrapper)

    def timed(self) -> Tuple[float, float]:
        """Wall and CPU seconds of one step (synchronised on CUDA)."""
        bm._sync(self.device)
        start, cpu_start = time.perf_counter(), time.process_time()
        self()
        bm._sync(self.device)
        return (time.perf_counter() - start,
                time.process_time() - cpu_start)

    def finish(self, times: Sequence[Tuple[float, float]],
               memory: Dict[str, Any]) -> dict:
        """The result row from the step times and the memory figures."""
        self.row.update(memory)
        if times:
            wall = [t[0] for t in times]
            cpu = [t[1] for t in times]
            self.row.update(times_s=wall, **bm.summarise(wall))
            self.row.update(
                cpu_times_s=cpu,
                **{'cpu_' + k: v
                   for k, v in bm.summarise(cpu).items()})
        self.row['loss_keys'] = sorted(
            k for k in self.log_vars if 'loss' in k)
        self.row['last_losses'] = {
            k: float(v)
            for k, v in self.log_vars.items() if 'loss' in k
        }
        return self.row


def _error_row(path: str, without_contrast: bool, error: Exception) -> dict:
    return dict(
        config=path,
        name=row_name(path, without_contrast),
        without_contrast=without_contrast,
        error=f'{type(error).__name__}: {error}')


def measure(path: str,
            without_contrast: bool = False,
            shape: Tuple[int, int] = (512, 512),
            batch: int = 2,
            warmup: int = 2,
            runs: int = 5,
            device: str = 'cpu',
            threads: Optional[int] = None,
            cfg_options: Optional[dict] = None,
            random_init: bool = True,
            seed: int = 0) -> Dict[str, Any]:
    """Build one model and time its training step (one result row)."""
    if threads:
        torch.set_num_threads(threads)
    try:
        step = TrainStep(path, without_contrast, shape, batch, device,
                         cfg_options, random_init, seed)
        for _ in range(warmup):
            step()
        times = [step.timed() for _ in range(runs)]
        return step.finish(times, step_memory(step, device))
    except Exception as error:  # report, keep measuring the others
        return _error_row(path, without_contrast, error)


def measure_interleaved(
        specs: Sequence[Dict[str, Any]],
        warmup: int = 2,
        runs: int = 5,
        threads: Optional[int] = None,
        after: Optional[Callable[['TrainStep', dict], None]] = None
) -> List[dict]:
    """Build every model, then time their steps in turns (one process).

    After each model's warm-up steps, the timed steps go round the models,
    ``runs`` rounds, each round starting one model later: a machine whose
    load changes during the run slows every model alike. No memory figures
    (models sharing a process share its allocator; see
    :func:`run_benchmark`). ``after(step, row)``, if given, is called for
    each measured model once all timed steps are done, while the models
    still exist (e.g. to add figures measured on the built model to its
    row); an exception there becomes the row's ``after_error``.
    """
    if threads:
        torch.set_num_threads(threads)
    steps: List[Optional[TrainStep]] = []
    rows: List[Optional[dict]] = []
    for spec in specs:
        try:
            steps.append(TrainStep(**spec))
            rows.append(None)
        except Exception as error:
            steps.append(None)
            rows.append(_error_row(spec['path'], spec['without_contrast'],
                                   error))
    live = [i for i, step in enumerate(steps) if step is not None]
    for i in list(live):
        try:
            for _ in range(warmup):
                steps[i]()
        except Exception as error:
            rows[i] = _error_row(specs[i]['path'],
                                 specs[i]['without_contrast'], error)
            live.remove(i)
    times: Dict[int, List[Tuple[float, float]]] = {i: [] for i in live}
    for r in range(runs):
        for k in range(len(live)):
            i = live[(r + k) % len(live)]
            times[i].append(steps[i].timed())
    for i in live:
        rows[i] = steps[i].finish(times[i], {})
    if after is not None:
        for i in live:
            try:
                after(steps[i], rows[i])
            except Exception as error:
                rows[i]['after_error'] = f'{type(error).__name__}: {error}'
    return rows


# --------------------------------------------------------------------------
# several models
# --------------------------------------------------------------------------
def measure_in_subprocess(spec: Dict[str, Any]) -> Dict[str, Any]:
    """:func:`measure` in a fresh Python process (see the module doc)."""
    proc = subprocess.run(
        [sys.executable, osp.abspath(__file__), '--worker',
         json.dumps(spec)],
        capture_output=True,
        text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return dict(
        config=spec['path'],
        name=row_name(spec['path'], spec['without_contrast']),
        without_contrast=spec['without_contrast'],
        error=f'worker exited with {proc.returncode}: ' + ' | '.join(tail))


def find_row(rows: Sequence[dict], name: str) -> Optional[dict]:
    """The row of ``name``: config path, file name, stem or stem suffix."""
    no_contrast = name.endswith(NO_CONTRAST)
    base = name[:-len(NO_CONTRAST)] if no_contrast else name
    stem = osp.splitext(osp.basename(base))[0]
    for row in rows:
        if row['without_contrast'] != no_contrast:
            continue
        if base in (row['config'], osp.basename(row['config'])) or \
                stem == row_name(row['config'], False):
            return row
    return None


def run_benchmark(configs: Sequence[str],
                  shape: Tuple[int, int] = (512, 512),
                  batch: int = 2,
                  warmup: int = 2,
                  runs: int = 5,
                  device: str = 'cpu',
                  threads: Optional[int] = None,
                  baseline: Optional[str] = None,
                  without_contrast: bool = False,
                  in_process: bool = False,
                  interleave: bool = False,
                  with_memory: bool = True,
                  cfg_options: Optional[dict] = None,
                  random_init: bool = True,
                  log: Callable[[str], None] = print,
                  after: Optional[Callable[['TrainStep', dict],
                                           None]] = None) -> Dict[str, Any]:
    """Measure every config (and variant); returns the JSON dict.

    ``interleave`` measures in this process with the timed steps of the
    models in turns (:func:`measure_interleaved`); otherwise each model is
    measured on its own, in a subprocess unless ``in_process``.
    ``with_memory=False`` skips the memory subprocesses of ``interleave``.
    ``after`` (``interleave`` only) is passed to :func:`measure_interleaved`.
    """
    configs = pf.expand_configs(configs)
    variants = [(path, False) for path in configs]
    if without_contrast:
        variants += [(path, True) for path in configs]
    # Models that turn out equal are measured once.
    unique: Dict[str, int] = {}
    specs: List[Dict[str, Any]] = []
    plan: List[Tuple[str, bool, int, List[str]]] = []
    for path, strip in variants:
        cfg, removed = variant_config(path, strip, shape, cfg_options)
        key = pf.model_key(cfg)
        if key not in unique:
            unique[key] = len(specs)
            specs.append(
                dict(path=path, without_contrast=strip, shape=tuple(shape),
                     batch=batch, device=device, cfg_options=cfg_options,
                     random_init=random_init))
        plan.append((path, strip, unique[key], removed))
    if interleave:
        log(f'[benchmark_train] {len(specs)} models, steps interleaved')
        measured = measure_interleaved(specs, warmup, runs, threads, after)
        # Memory: each model alone in a subprocess.
        for spec, row in zip(specs, measured):
            if 'error' in row or not with_memory:
                continue
            name = row_name(spec['path'], spec['without_contrast'])
            log(f'[benchmark_train] {name}: memory (subprocess)')
            mem = measure_in_subprocess(
                dict(spec, shape=list(spec['shape']), warmup=max(1, warmup),
                     runs=0, threads=threads))
            for key in ('peak_mem_mb', 'step_mem_mb', 'step_rss_mb',
                        'mem_method', 'error'):
                if key in mem:
                    row[key if key != 'error' else 'mem_error'] = mem[key]
    else:
        measured = []
        for spec in specs:
            name = row_name(spec['path'], spec['without_contrast'])
            log(f'[benchmark_train] {name}')
            spec = dict(spec, warmup=warmup, runs=runs, threads=threads)
            if in_process:
                measured.append(measure(**spec))
            else:
                spec['shape'] = list(spec['shape'])
                measured.append(measure_in_subprocess(spec))
    mode = ('interleaved' if interleave else
            'in-process' if in_process else 'subprocess')
    rows: List[dict] = []
    for path, strip, index, removed in plan:
        first = measured[index]
        first['mode'] = mode
        if first['config'] == path and first['without_contrast'] == strip:
            rows.append(first)
            continue
        row = dict(first, config=path, name=row_name(path, strip),
                   without_contrast=strip, same_model_as=first['name'])
        row.pop('removed', None)
        if strip:
            row['removed'] = removed
        rows.append(row)
    env = bm.environment(device)
    if threads:
        env['threads'] = threads
    result: Dict[str, Any] = dict(
        schema=SCHEMA,
        env=env,
        settings=dict(
            shape=list(shape), batch=batch, warmup=warmup, runs=runs,
            random_init=random_init, without_contrast=without_contrast,
            mode=('interleaved' if interleave else
                  'in-process' if in_process else 'subprocess'),
            cfg_options=cfg_options,
            labels=f'{LABEL_BLOCK}x{LABEL_BLOCK} blocks of random classes',
            date=datetime.datetime.now().isoformat(timespec='seconds')),
        results=rows)
    if baseline:
        base = find_row(rows, baseline)
        if base is None or 'median_s' not in base:
            raise SystemExit(
                f'--baseline {baseline}: no measured row for it; give one '
                'of the benchmarked configs (path, file name or stem, with '
                f'{NO_CONTRAST} for a --without-contrast row)')
        result['baseline'] = dict(
            name=base['name'], median_s=base['median_s'],
            cpu_median_s=base.get('cpu_median_s'),
            step_mem_mb=base.get('step_mem_mb'))
        for row in rows:
            if 'median_s' not in row:
                continue
            row['time_ratio'] = row['median_s'] / base['median_s']
            if base.get('cpu_median_s'):
                row['cpu_time_ratio'] = (
                    row['cpu_median_s'] / base['cpu_median_s'])
            if base.get('step_mem_mb') and 'step_mem_mb' in row:
                row['step_mem_ratio'] = (
                    row['step_mem_mb'] / base['step_mem_mb'])
    return result


def _fmt(row: dict, key: str, scale: float = 1.0, digits: int = 0) -> str:
    value = row.get(key)
    return '-' if value is None else f'{value * scale:.{digits}f}'


def format_table(result: Dict[str, Any]) -> str:
    """Markdown table of a benchmark result."""
    has_ratio = 'baseline' in result
    on_cpu = not result['env']['device'].startswith('cuda')
    header = ['Model', 'Median step (ms)', 'Std (ms)', 'Min-max (ms)']
    if on_cpu:
        header += ['Median CPU (ms)', 'CPU std (ms)']
    header += ['Peak mem (MB)', 'Step mem (MB)', 'Params (M)']
    if has_ratio:
        header += ['x time'] + (['x CPU time'] if on_cpu else []) + [
            'x step mem'
        ]
    rows = []
    for r in result['results']:
        if 'median_s' not in r:
            rows.append([r['name'], r.get('error', 'no result')] + [''] *
                        (len(header) - 2))
            continue
        cells = [
            r['name'] + (' (=)' if r.get('same_model_as') else ''),
            _fmt(r, 'median_s', 1e3), _fmt(r, 'std_s', 1e3),
            f"{r['min_s'] * 1e3:.0f}-{r['max_s'] * 1e3:.0f}"
        ]
        if on_cpu:
            cells += [_fmt(r, 'cpu_median_s', 1e3), _fmt(r, 'cpu_std_s', 1e3)]
        cells += [
            _fmt(r, 'peak_mem_mb'), _fmt(r, 'step_mem_mb'),
            _fmt(r, 'params_m', digits=2)
        ]
        if has_ratio:
            cells.append(_fmt(r, 'time_ratio', digits=3))
            if on_cpu:
                cells.append(_fmt(r, 'cpu_time_ratio', digits=3))
            cells.append(_fmt(r, 'step_mem_ratio', digits=3))
        rows.append(cells)
    env, settings = result['env'], result['settings']
    where = (env.get('gpu') if not on_cpu else
             f"{env['cpu']}, {env['threads']} threads, "
             f"{env['cpu_count']} cores, load average "
             f"{env['load_average'][0]:.1f} at the end"
             if env.get('load_average') else
             f"{env['cpu']}, {env['threads']} threads")
    methods = sorted({r['mem_method'] for r in result['results']
                      if 'mem_method' in r})
    lines = [
        pf.markdown_table(header, rows), '',
        f"Training step (preprocess, forward, losses, backward, optimizer "
        f"step), batch {settings['batch']} of "
        f"{settings['shape'][0]}x{settings['shape'][1]} random images, "
        f"{settings['warmup']} warm-up + {settings['runs']} timed steps, "
        f"{env['device']} ({where}), torch {env['torch']}; "
        f"{MODE_NOTES[settings['mode']]}.",
        f"Memory: {'; '.join(methods) or '-'}."
    ]
    if on_cpu:
        lines.append('CPU: CPU time of the process (all threads) per step, '
                     'insensitive to other load on the machine, unlike the '
                     'wall time.')
    if has_ratio:
        base = result['baseline']
        lines.append(f"x ...: relative to {base['name']} "
                     f"({base['median_s'] * 1e3:.0f} ms), same run.")
    if any(r.get('same_model_as') for r in result['results']):
        lines.append('(=): same model as an earlier row, measured once.')
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Training-step time and memory of segmentors')
    parser.add_argument(
        'configs', nargs='*', help='config files, folders or glob patterns')
    parser.add_argument(
        '--shape', type=int, nargs='+', default=[512, 512],
        help='input size H W (or one number for a square)')
    parser.add_argument('--batch', type=int, default=2, help='images/step')
    parser.add_argument('--runs', type=int, default=5, help='timed steps')
    parser.add_argument('--warmup', type=int, default=2, help='warm-up steps')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument(
        '--threads', type=int, help='CPU threads (torch.set_num_threads)')
    parser.add_argument(
        '--baseline', help='row the ratios refer to (config path, file name, '
        f'stem, or stem{NO_CONTRAST})')
    parser.add_argument(
        '--without-contrast', action='store_true',
        help='also measure each model without its contrastive terms')
    parser.add_argument(
        '--in-process', action='store_true',
        help='measure every model in this process (no subprocess each)')
    parser.add_argument(
        '--interleave', action='store_true',
        help='build all models in this process and time their steps in '
        'turns (fair on a machine whose load changes)')
    parser.add_argument(
        '--no-memory', action='store_true',
        help='with --interleave: skip the memory subprocesses')
    parser.add_argument(
        '--no-random-init', dest='random_init', action='store_false',
        help='keep the pretrained init_cfg of the configs (downloads)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of every config, key=value pairs')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is None:
        if not args.configs:
            parser.error('give at least one config')
        if args.runs < 1 or args.warmup < 0 or args.batch < 1:
            parser.error('--runs and --batch must be >= 1, --warmup >= 0')
    return args


def main(argv=None) -> Dict[str, Any]:
    args = parse_args(argv)
    if args.worker is not None:
        spec = json.loads(args.worker)
        spec['shape'] = tuple(spec['shape'])
        row = measure(**spec)
        print(RESULT_MARKER + json.dumps(row), flush=True)
        return row
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f'--device {args.device}: CUDA is not available')
    result = run_benchmark(
        args.configs,
        shape=pf.parse_shape(args.shape),
        batch=args.batch,
        warmup=args.warmup,
        runs=args.runs,
        device=args.device,
        threads=args.threads,
        baseline=args.baseline,
        without_contrast=args.without_contrast,
        in_process=args.in_process,
        interleave=args.interleave,
        with_memory=not args.no_memory,
        cfg_options=args.cfg_options,
        random_init=args.random_init,
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
