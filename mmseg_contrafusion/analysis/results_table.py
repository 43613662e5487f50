"""The ContraFusionNet-style results table, from configs and measurements.

Columns (the seed paper's): Model | Backbone | Params | Crop Size | mIoU |
Dice | Pixel Accuracy | Testing Time (per image), then Schedule and Config.

* Model, backbone, crop size and schedule come from the config (its file
  name and its ``model`` / ``crop_size`` settings).
* Params: inference-time parameters (:func:`.params.count_params`), taken
  from the benchmark result or counted here.
* mIoU, Dice (mDice) and pixel accuracy (aAcc), in %, from the metrics JSON
  of a ``tools/test.py`` run (:mod:`.eval_metrics`). Rows without one say
  "not trained".
* Testing time: the median ``model`` latency (whole-image inference, batch
  1) of an :func:`.inference_benchmark.run_benchmark` result.
"""
import csv
import json
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .configs import config_stem, load_config, train_crop_size
from .eval_metrics import NOT_TRAINED, metrics_for
from .inference_benchmark import find_row, run_benchmark
from .model_builders import build_model
from .params import count_params
from .tables import markdown_table

HEADER = [
    'Model', 'Backbone', 'Params', 'Crop Size', 'mIoU', 'Dice',
    'Pixel Accuracy', 'Testing Time (per image)', 'Schedule', 'Config'
]

#: Algorithm (first field of an mmseg-style config name) -> table name.
MODEL_NAMES = [
    ('contrafusion', 'ContraFusionNet'),
    ('unet', 'U-Net + FCN'),
    ('deeplabv3plus', 'DeepLabV3+'),
    ('deeplabv3', 'DeepLabV3'),
    ('pspnet', 'PSPNet'),
    ('segformer', 'SegFormer'),
    ('fcn', 'FCN'),
]
#: (stage widths, depths) of MixVisionTransformer -> its name.
MIT_NAMES = {
    ((32, 64, 160, 256), (2, 2, 2, 2)): 'MiT-B0',
    ((64, 128, 320, 512), (2, 2, 2, 2)): 'MiT-B1',
    ((64, 128, 320, 512), (3, 4, 6, 3)): 'MiT-B2',
    ((64, 128, 320, 512), (3, 4, 18, 3)): 'MiT-B3',
    ((64, 128, 320, 512), (3, 8, 27, 3)): 'MiT-B4',
    ((64, 128, 320, 512), (3, 6, 40, 3)): 'MiT-B5',
}


def model_name(stem: str, cfg) -> str:
    """The table's model name of a config (by its algorithm field)."""
    algorithm = stem.split('_')[0].lower()
    for prefix, name in MODEL_NAMES:
        if algorithm.startswith(prefix):
            return name
    return cfg.model.get('type', algorithm)


def describe_backbone(bcfg: dict) -> str:
    """A short name for a backbone config dict, e.g. ``'MiT-B2'``."""
    kind = bcfg.get('type', '?')
    if kind == 'MixVisionTransformer':
        embed = bcfg.get('embed_dims', 64)
        widths = tuple(embed * h for h in bcfg.get('num_heads', [1, 2, 4, 8]))
        depths = tuple(bcfg.get('num_layers', [3, 4, 6, 3]))
        known = MIT_NAMES.get((widths, depths))
        return known or ('MiT ' + '/'.join(map(str, widths)) + ', depths ' +
                         '/'.join(map(str, depths)))
    if kind.startswith('ResNet'):
        strides = bcfg.get('strides', (1, 2, 2, 2))
        out_stride = 4
        for s in strides:
            out_stride *= s
        return f"{kind}-{bcfg.get('depth', '?')} (D{out_stride})"
    if kind == 'HRNet':
        stage4 = bcfg.get('extra', {}).get('stage4', {})
        widths = stage4.get('num_channels', ('?', ))
        return f'HRNetV2-W{widths[0]}'
    if kind == 'UNet':
        downsamples = bcfg.get('downsamples', (True, True, True, True))
        return (f"UNet-S{bcfg.get('num_stages', 5)}"
                f'-D{2**sum(bool(d) for d in downsamples)}')
    return kind


def backbone_name(cfg) -> str:
    """Backbone(s) of a model config; several are joined with ' + '."""
    model = cfg.model
    found = [
        describe_backbone(value) for key, value in model.items()
        if isinstance(value, dict) and 'type' in value and (
            'backbone' in key or 'encoder' in key)
    ]
    return ' + '.join(found) if found else '-'


def crop_cell(cfg) -> str:
    """The crop size as ``'HxW'`` (``'-'`` without one)."""
    crop = train_crop_size(cfg)
    return '-' if crop is None else f'{crop[0]}x{crop[1]}'


def schedule_name(stem: str) -> str:
    """The ``{gpus}xb{batch}-{schedule}`` field of a config name."""
    for field in stem.split('_'):
        if re.match(r'^\d+xb\d+', field):
            return field
    return '-'


def _pct(metrics: Optional[dict], key: str) -> str:
    if metrics is None:
        return NOT_TRAINED
    value = metrics.get(key)
    return 'n/a' if value is None else f'{float(value):.2f}'


def _time_cell(timing: Optional[dict], time_kind: str) -> str:
    if timing and time_kind == 'cpu' and 'cpu_median_s' in timing:
        return f"{timing['cpu_median_s']:.3f} s (CPU)"
    if timing and 'median_s' in timing:
        return f"{timing['median_s']:.3f} s ± {timing['std_s']:.3f}"
    if timing and 'error' in timing:
        return 'failed'
    return 'not measured'


def build_rows(configs: Sequence[str],
               bench: Optional[Dict[str, Any]] = None,
               explicit_metrics: Optional[Dict[str, str]] = None,
               work_dirs: Optional[str] = None,
               time_kind: str = 'wall') -> List[Dict[str, Any]]:
    """One dict per config with the raw figures and the table cells.

    Args:
        configs (Sequence[str]): Config files.
        bench (dict, optional): A benchmark result (latency, parameters).
        explicit_metrics (dict, optional): Config (path, file name or
            stem) -> test metrics JSON or work dir.
        work_dirs (str, optional): Root of ``<config stem>/`` work dirs.
        time_kind (str): ``'wall'`` (median ± std of the wall-clock time)
            or ``'cpu'`` (median process CPU time) for the testing-time
            column. Defaults to ``'wall'``.

    Returns:
        list[dict]: ``config``, ``cells`` (as :data:`HEADER`), ``params``,
        ``metrics`` and ``timing`` (the benchmark row) per config.
    """
    bench_rows = (bench or {}).get('results', [])
    rows = []
    for config in configs:
        cfg = load_config(config)
        stem = config_stem(config)
        timing = find_row(bench_rows, config, 'model')
        params = timing.get('params') if timing else None
        if params is None:
            model = build_model(cfg, init_weights=False)
            params = count_params(model)
            del model
        metrics = metrics_for(config, explicit_metrics or {}, work_dirs)
        cells = [
            model_name(stem, cfg),
            backbone_name(cfg),
            f"{params['inference'] / 1e6:.2f}M",
            crop_cell(cfg),
            _pct(metrics, 'mIoU'),
            _pct(metrics, 'mDice'),
            _pct(metrics, 'aAcc'),
            _time_cell(timing, time_kind),
            schedule_name(stem),
            stem,
        ]
        rows.append(
            dict(
                config=config,
                cells=cells,
                params=params,
                metrics=metrics,
                timing=timing))
    return rows


def footnotes(rows: Sequence[dict],
              bench: Optional[dict],
              time_kind: str = 'wall') -> List[str]:
    """The notes under the table (what each column is, where it is from)."""
    notes = [
        'Params: parameters used at inference (training-only modules such '
        'as auxiliary heads excluded).',
        'mIoU / Dice / Pixel Accuracy: % from tools/test.py (IoUMetric: '
        '19 classes, dataset-level confusion, ignore 255); '
        f'"{NOT_TRAINED}": no test metrics given for that config.',
    ]
    if bench:
        env, settings = bench['env'], bench['settings']
        where = (
            env.get('gpu') if env['device'].startswith('cuda') else
            f"{env['cpu']}, {env['threads']} threads")
        what = ('median process CPU time (all threads)'
                if time_kind == 'cpu' else 'median ± std of the wall-clock '
                'time')
        load = env.get('load_average')
        notes.append(
            f'Testing time: {what} of whole-image inference '
            f"(encode_decode), batch 1, {settings['shape'][0]}x"
            f"{settings['shape'][1]} input, {settings['warmup']} warm-up + "
            f"{settings['runs']} runs, {env['device']} ({where}), torch "
            f"{env['torch']}, random weights, all rows in one run" +
            (f' (load average {load[0]:.2f} at its end).' if load else '.'))
    return notes


def to_markdown(rows: Sequence[dict],
                bench: Optional[dict] = None,
                time_kind: str = 'wall') -> str:
    """The table and its notes, as Markdown."""
    table = markdown_table(HEADER, [r['cells'] for r in rows])
    notes = footnotes(rows, bench, time_kind)
    return table + '\n\n' + '\n'.join(f'- {n}' for n in notes)


def write_csv(rows: Sequence[dict], path: str) -> None:
    """The table (header and cells) as CSV."""
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(row['cells'])


def merge_bench(paths: Sequence[str]) -> Optional[Dict[str, Any]]:
    """Load benchmark JSONs; rows of later files are appended."""
    merged = None
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        if merged is None:
            merged = data
        else:
            merged['results'].extend(data['results'])
    return merged


def collect_bench(
        configs: Sequence[str],
        bench_paths: Sequence[str] = (),
        measure: bool = False,
        shape: Tuple[int, int] = (512, 512),
        runs: int = 3,
        warmup: int = 1,
        device: str = 'cpu',
        threads: Optional[int] = None,
        bench_out: Optional[str] = None,
        log: Callable[[str], None] = print) -> Optional[Dict[str, Any]]:
    """The latencies of the table: measured now, or from benchmark JSONs.

    Args:
        configs (Sequence[str]): Config files.
        bench_paths (Sequence[str]): Benchmark JSONs (without ``measure``).
        measure (bool): Time every config's ``model`` now, in one run
            (no memory). Defaults to False.
        shape (tuple[int, int]): Input size (H, W) of ``measure``.
        runs (int): Timed rounds of ``measure``. Defaults to 3.
        warmup (int): Warm-up calls of ``measure``. Defaults to 1.
        device (str): Device of ``measure``. Defaults to ``'cpu'``.
        threads (int, optional): ``torch.set_num_threads``.
        bench_out (str, optional): With ``measure``: write the benchmark
            JSON here.
        log (Callable[[str], None]): Progress messages.

    Returns:
        dict | None: A benchmark result (None without one).
    """
    if not measure:
        return merge_bench(bench_paths)
    bench = run_benchmark(
        configs,
        shape,
        parts=['model'],
        runs=runs,
        warmup=warmup,
        device=device,
        threads=threads,
        with_memory=False,
        log=log)
    if bench_out:
        with open(bench_out, 'w') as f:
            json.dump(bench, f, indent=2)
    return bench


def write_table(rows: Sequence[dict],
                text: str,
                md: Optional[str] = None,
                csv_path: Optional[str] = None) -> None:
    """Write the Markdown ``text`` and/or the CSV of ``rows``."""
    if md:
        with open(md, 'w') as f:
            f.write(text + '\n')
    if csv_path:
        write_csv(rows, csv_path)
