"""Training-step time and memory of segmentors, several configs in one run.

Each model (:class:`.train_step.TrainStep`) gets ``warmup`` untimed steps,
then ``runs`` timed ones; rows keep the median and the spread and every
step, on two clocks: the wall time and the CPU time of the process
(``time.process_time``, all threads). On a shared CPU the wall time mostly
measures the other processes; the CPU time measures the step's own work
(with one thread it has no OpenMP spin-waiting either), so its ratios are
the ones to quote from such a machine.

Memory, per model, after the warm-up and timed steps (so the optimizer
state exists), in MB (:func:`.memory.step_memory`): ``step_mem_mb``, what a
step allocates on top of the model and its optimizer state (the column to
compare models by), and ``peak_mem_mb`` (CUDA: absolute
``max_memory_allocated``; CPU: the peak RSS during a step, with
``step_rss_mb`` its increase).

Modes: by default every model is measured in a subprocess of its own, so
memory figures and allocator state do not carry over from one model to the
next; ``in_process`` measures them all in this process, one after the
other; ``interleave`` builds all models in this process and times their
steps in turns (:func:`.train_step.measure_interleaved`), with memory from
one subprocess per model running its steps alone.

Run as ``python -m mmseg_contrafusion.analysis.train_benchmark SPEC.json
OUT.json`` (:mod:`..utils.json_worker`) this module is that subprocess: it
measures one model and writes its row.
"""
import datetime
import os.path as osp
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..utils.json_worker import WorkerError, run_json_worker, serve_json_worker
from .configs import expand_configs, model_key
from .tables import fmt_number, markdown_table
from .timing import environment
from .train_step import (LABEL_BLOCK, NO_CONTRAST, TrainStep, measure,
                         measure_interleaved, row_name, variant_config)

SCHEMA = 'mmseg_contrafusion.benchmark_train/1'
#: Run with ``python -m`` to measure one model in a process of its own.
WORKER_MODULE = 'mmseg_contrafusion.analysis.train_benchmark'
MODE_NOTES = {
    'subprocess':
    'each model measured alone in its own process',
    'in-process':
    'the models measured one after the other in one process',
    'interleaved':
    'timed steps interleaved (the models in turns, one '
    'process); memory of each model alone in its own process',
}
MEMORY_KEYS = ('peak_mem_mb', 'step_mem_mb', 'step_rss_mb', 'mem_method')


def measure_in_subprocess(spec: Dict[str, Any]) -> Dict[str, Any]:
    """:func:`.train_step.measure` in a fresh Python process.

    Args:
        spec (dict): Its keyword arguments (JSON-serialisable).

    Returns:
        dict: The row; if the process failed, an error row with the exit
        status and the last lines of its output.
    """
    with tempfile.TemporaryDirectory(prefix='benchmark_train_') as tmp:
        try:
            return run_json_worker(WORKER_MODULE, spec, tmp, 'measure')
        except WorkerError as error:
            return dict(
                config=spec['path'],
                name=row_name(spec['path'], spec['without_contrast']),
                without_contrast=spec['without_contrast'],
                error=str(error))


def find_row(rows: Sequence[dict], name: str) -> Optional[dict]:
    """The row of ``name``: config path, file name, stem, with or without
    the :data:`.train_step.NO_CONTRAST` suffix."""
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


def _measure_all(specs: List[Dict[str, Any]], warmup: int, runs: int,
                 threads: Optional[int], in_process: bool, interleave: bool,
                 with_memory: bool, after: Optional[Callable],
                 log: Callable[[str], None]) -> List[dict]:
    """One row per spec, in the mode asked for (see the module doc)."""
    if not interleave:
        measured = []
        for spec in specs:
            log(f"[benchmark_train] "
                f"{row_name(spec['path'], spec['without_contrast'])}")
            spec = dict(spec, warmup=warmup, runs=runs, threads=threads)
            if in_process:
                measured.append(measure(**spec))
            else:
                spec['shape'] = list(spec['shape'])
                measured.append(measure_in_subprocess(spec))
        return measured
    log(f'[benchmark_train] {len(specs)} models, steps interleaved')
    measured = measure_interleaved(specs, warmup, runs, threads, after)
    # Memory: each model alone in a subprocess.
    for spec, row in zip(specs, measured):
        if 'error' in row or not with_memory:
            continue
        name = row_name(spec['path'], spec['without_contrast'])
        log(f'[benchmark_train] {name}: memory (subprocess)')
        mem = measure_in_subprocess(
            dict(
                spec,
                shape=list(spec['shape']),
                warmup=max(1, warmup),
                runs=0,
                threads=threads))
        row.update({key: mem[key] for key in MEMORY_KEYS if key in mem})
        if 'error' in mem:
            row['mem_error'] = mem['error']
    return measured


def run_benchmark(
    configs: Sequence[str],
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
    after: Optional[Callable[[TrainStep, dict],
                             None]] = None) -> Dict[str, Any]:
    """Measure every config (and variant); returns the JSON dict.

    Args:
        configs (Sequence[str]): Config files, folders or glob patterns.
        shape (tuple[int, int]): Image size (H, W). Defaults to (512, 512).
        batch (int): Images per step. Defaults to 2.
        warmup (int): Untimed steps. Defaults to 2.
        runs (int): Timed steps. Defaults to 5.
        device (str): Device. Defaults to ``'cpu'``.
        threads (int, optional): ``torch.set_num_threads`` (every process).
        baseline (str, optional): Row the ratios refer to (config path,
            file name, stem, or ``<stem>:no-contrast``): ``time_ratio``,
            ``cpu_time_ratio`` and ``step_mem_ratio``.
        without_contrast (bool): Also measure each config with its
            contrastive terms removed (rows ``<stem>:no-contrast``).
            Defaults to False.
        in_process (bool): Measure in this process, one model after the
            other. Defaults to False.
        interleave (bool): Time the steps of all models in turns in this
            process. Defaults to False.
        with_memory (bool): With ``interleave``: the memory subprocesses.
            Defaults to True.
        cfg_options (dict, optional): Overrides of every config.
        random_init (bool): No pretrained weights. Defaults to True.
        log (Callable[[str], None]): Progress messages. Defaults to print.
        after (Callable, optional): With ``interleave``: passed to
            :func:`.train_step.measure_interleaved`.

    Returns:
        dict: ``schema``, ``env``, ``settings``, ``results`` and, with a
        baseline, ``baseline``. Models that turn out equal are measured
        once (``same_model_as``).

    Raises:
        SystemExit: If ``baseline`` names no measured row.
    """
    configs = expand_configs(configs)
    variants = [(path, False) for path in configs]
    if without_contrast:
        variants += [(path, True) for path in configs]
    unique: Dict[str, int] = {}
    specs: List[Dict[str, Any]] = []
    plan: List[Tuple[str, bool, int, List[str]]] = []
    for path, strip in variants:
        cfg, removed = variant_config(path, strip, shape, cfg_options)
        key = model_key(cfg)
        if key not in unique:
            unique[key] = len(specs)
            specs.append(
                dict(
                    path=path,
                    without_contrast=strip,
                    shape=tuple(shape),
                    batch=batch,
                    device=device,
                    cfg_options=cfg_options,
                    random_init=random_init))
        plan.append((path, strip, unique[key], removed))
    measured = _measure_all(specs, warmup, runs, threads, in_process,
                            interleave, with_memory, after, log)
    mode = ('interleaved'
            if interleave else 'in-process' if in_process else 'subprocess')
    rows: List[dict] = []
    for path, strip, index, removed in plan:
        first = measured[index]
        first['mode'] = mode
        if first['config'] == path and first['without_contrast'] == strip:
            rows.append(first)
            continue
        row = dict(
            first,
            config=path,
            name=row_name(path, strip),
            without_contrast=strip,
            same_model_as=first['name'])
        row.pop('removed', None)
        if strip:
            row['removed'] = removed
        rows.append(row)
    env = environment(device)
    if threads:
        env['threads'] = threads
    result: Dict[str, Any] = dict(
        schema=SCHEMA,
        env=env,
        settings=dict(
            shape=list(shape),
            batch=batch,
            warmup=warmup,
            runs=runs,
            random_init=random_init,
            without_contrast=without_contrast,
            mode=mode,
            cfg_options=cfg_options,
            labels=f'{LABEL_BLOCK}x{LABEL_BLOCK} blocks of random classes',
            date=datetime.datetime.now().isoformat(timespec='seconds')),
        results=rows)
    if baseline:
        add_ratios(result, baseline)
    return result


def add_ratios(result: Dict[str, Any], baseline: str) -> None:
    """Divide every row of ``result`` by the ``baseline`` row, in place.

    Raises:
        SystemExit: If ``baseline`` names no measured row.
    """
    rows = result['results']
    base = find_row(rows, baseline)
    if base is None or 'median_s' not in base:
        raise SystemExit(
            f'--baseline {baseline}: no measured row for it; give one '
            'of the benchmarked configs (path, file name or stem, with '
            f'{NO_CONTRAST} for a --without-contrast row)')
    result['baseline'] = dict(
        name=base['name'],
        median_s=base['median_s'],
        cpu_median_s=base.get('cpu_median_s'),
        step_mem_mb=base.get('step_mem_mb'))
    for row in rows:
        if 'median_s' not in row:
            continue
        row['time_ratio'] = row['median_s'] / base['median_s']
        if base.get('cpu_median_s'):
            row['cpu_time_ratio'] = row['cpu_median_s'] / base['cpu_median_s']
        if base.get('step_mem_mb') and 'step_mem_mb' in row:
            row['step_mem_ratio'] = row['step_mem_mb'] / base['step_mem_mb']


def _cell(row: dict, key: str, scale: float = 1.0, digits: int = 0) -> str:
    return fmt_number(row.get(key), digits, scale)


def format_table(result: Dict[str, Any]) -> str:
    """Markdown table of a :func:`run_benchmark` result, with its notes."""
    has_ratio = 'baseline' in result
    on_cpu = not result['env']['device'].startswith('cuda')
    header = ['Model', 'Median step (ms)', 'Std (ms)', 'Min-max (ms)']
    if on_cpu:
        header += ['Median CPU (ms)', 'CPU std (ms)']
    header += ['Peak mem (MB)', 'Step mem (MB)', 'Params (M)']
    if has_ratio:
        header += ['x time'
                   ] + (['x CPU time'] if on_cpu else []) + ['x step mem']
    rows = []
    for r in result['results']:
        if 'median_s' not in r:
            rows.append([r['name'], r.get('error', 'no result')] + [''] *
                        (len(header) - 2))
            continue
        cells = [
            r['name'] + (' (=)' if r.get('same_model_as') else ''),
            _cell(r, 'median_s', 1e3),
            _cell(r, 'std_s', 1e3),
            f"{r['min_s'] * 1e3:.0f}-{r['max_s'] * 1e3:.0f}"
        ]
        if on_cpu:
            cells += [
                _cell(r, 'cpu_median_s', 1e3),
                _cell(r, 'cpu_std_s', 1e3)
            ]
        cells += [
            _cell(r, 'peak_mem_mb'),
            _cell(r, 'step_mem_mb'),
            _cell(r, 'params_m', digits=2)
        ]
        if has_ratio:
            cells.append(_cell(r, 'time_ratio', digits=3))
            if on_cpu:
                cells.append(_cell(r, 'cpu_time_ratio', digits=3))
            cells.append(_cell(r, 'step_mem_ratio', digits=3))
        rows.append(cells)
    env, settings = result['env'], result['settings']
    where = (
        env.get('gpu')
        if not on_cpu else f"{env['cpu']}, {env['threads']} threads, "
        f"{env['cpu_count']} cores, load average "
        f"{env['load_average'][0]:.1f} at the end" if env.get('load_average')
        else f"{env['cpu']}, {env['threads']} threads")
    methods = sorted(
        {r['mem_method']
         for r in result['results'] if 'mem_method' in r})
    lines = [
        markdown_table(header, rows), '',
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


def _measure_spec(spec: Dict[str, Any]) -> Dict[str, Any]:
    """The worker's measurement: :func:`.train_step.measure` of a spec."""
    return measure(**dict(spec, shape=tuple(spec['shape'])))


if __name__ == '__main__':
    serve_json_worker(sys.argv[1:], _measure_spec)
