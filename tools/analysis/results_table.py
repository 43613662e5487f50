"""The ContraFusionNet-style results table, from configs and measurements.

    python tools/analysis/results_table.py CONFIG_OR_FOLDER [...] \
        [--metrics CONFIG=TEST_JSON_OR_WORK_DIR ...] [--work-dirs ROOT] \
        [--bench BENCH_JSON ...] [--measure [--shape 512 512 --runs 3]] \
        [--md table.md] [--csv table.csv]

Columns (the seed paper's): Model | Backbone | Params | Crop Size | mIoU |
Dice | Pixel Accuracy | Testing Time (per image), then Schedule and Config.

* Model, backbone, crop size and schedule come from the config (its file
  name and its ``model`` / ``crop_size`` settings).
* Params: inference-time parameters (what the inference forward uses; see
  ``params_flops.py``), taken from the benchmark JSON or counted here.
* mIoU, Dice (mDice) and pixel accuracy (aAcc), in %, come from the metrics
  JSON that ``tools/test.py`` (mmengine's ``runner.test()``) writes to
  ``<work_dir>/<timestamp>/<timestamp>.json``: give it with ``--metrics
  CONFIG=PATH`` (the JSON file or the work dir; CONFIG is the config path,
  file name or stem) or let ``--work-dirs ROOT`` find
  ``ROOT/<config stem>/*/*.json``. Rows without one say "not trained".
* Testing time: median ``model`` latency (whole-image inference, batch 1)
  from ``benchmark.py``'s JSON (``--bench``), or measured now for all rows
  in one run (``--measure``, same options as the benchmark).
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp
import re
import sys
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as bm  # noqa: E402
import params_flops as pf  # noqa: E402

HEADER = [
    'Model', 'Backbone', 'Params', 'Crop Size', 'mIoU', 'Dice',
    'Pixel Accuracy', 'Testing Time (per image)', 'Schedule', 'Config'
]
NOT_TRAINED = 'not trained'

# Algorithm (first field of an mmseg-style config name) -> table name.
MODEL_NAMES = [
    ('contrafusion', 'ContraFusionNet'),
    ('unet', 'U-Net + FCN'),
    ('deeplabv3plus', 'DeepLabV3+'),
    ('deeplabv3', 'DeepLabV3'),
    ('pspnet', 'PSPNet'),
    ('segformer', 'SegFormer'),
    ('fcn', 'FCN'),
]
MIT_NAMES = {
    ((32, 64, 160, 256), (2, 2, 2, 2)): 'MiT-B0',
    ((64, 128, 320, 512), (2, 2, 2, 2)): 'MiT-B1',
    ((64, 128, 320, 512), (3, 4, 6, 3)): 'MiT-B2',
    ((64, 128, 320, 512), (3, 4, 18, 3)): 'MiT-B3',
    ((64, 128, 320, 512), (3, 8, 27, 3)): 'MiT-B4',
    ((64, 128, 320, 512), (3, 6, 40, 3)): 'MiT-B5',
}


def model_name(stem: str, cfg) -> str:
    algorithm = stem.split('_')[0].lower()
    for prefix, name in MODEL_NAMES:
        if algorithm.startswith(prefix):
            return name
    return cfg.model.get('type', algorithm)


def describe_backbone(bcfg: dict) -> str:
    """A short name for a backbone config dict."""
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


def crop_size(cfg) -> str:
    crop = cfg.get('crop_size')
    if crop is None:
        for step in cfg.get('train_pipeline', []):
            if step.get('type') == 'RandomCrop':
                crop = step.get('crop_size')
    if crop is None:
        return '-'
    if isinstance(crop, int):
        crop = (crop, crop)
    return f'{crop[0]}x{crop[1]}'


def schedule_name(stem: str) -> str:
    for field in stem.split('_'):
        if re.match(r'^\d+xb\d+', field):
            return field
    return '-'


# --------------------------------------------------------------------------
# test metrics
# --------------------------------------------------------------------------
def _metrics_from_file(path: str) -> Optional[Dict[str, float]]:
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    metrics = {k.split('/')[-1]: v for k, v in data.items()}
    return metrics if 'mIoU' in metrics else None


def load_test_metrics(path: str) -> Dict[str, float]:
    """Metrics of a ``tools/test.py`` run: its JSON file, or the newest one
    (``<timestamp>/<timestamp>.json``) in a work dir."""
    if osp.isfile(path):
        metrics = _metrics_from_file(path)
        if metrics is None:
            raise ValueError(f'{path} is not a test metrics JSON (no mIoU)')
        return dict(metrics, source=path)
    if osp.isdir(path):
        candidates = sorted(
            glob.glob(osp.join(path, '**', '*.json'), recursive=True),
            key=osp.getmtime, reverse=True)
        for candidate in candidates:
            metrics = _metrics_from_file(candidate)
            if metrics is not None:
                return dict(metrics, source=candidate)
        raise FileNotFoundError(
            f'no test metrics JSON (with mIoU) under {path}: run '
            '`python tools/test.py CONFIG CHECKPOINT --work-dir ...` first')
    raise FileNotFoundError(f'{path} does not exist')


def _key_matches(key: str, config: str) -> bool:
    stem = osp.splitext(osp.basename(config))[0]
    return key in (config, osp.basename(config), stem) or (
        osp.exists(key) and osp.exists(config)
        and osp.samefile(key, config))


def metrics_for(config: str, explicit: Dict[str, str],
                work_dirs: Optional[str]) -> Optional[Dict[str, float]]:
    for key, path in explicit.items():
        if _key_matches(key, config):
            return load_test_metrics(path)
    if work_dirs:
        candidate = osp.join(work_dirs,
                             osp.splitext(osp.basename(config))[0])
        if osp.isdir(candidate):
            try:
                return load_test_metrics(candidate)
            except FileNotFoundError:
                return None
    return None


# --------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------
def _pct(metrics: Optional[dict], key: str) -> str:
    if metrics is None:
        return NOT_TRAINED
    value = metrics.get(key)
    return 'n/a' if value is None else f'{float(value):.2f}'


def build_rows(configs: Sequence[str],
               bench: Optional[Dict[str, Any]] = None,
               explicit_metrics: Optional[Dict[str, str]] = None,
               work_dirs: Optional[str] = None,
               time_kind: str = 'wall') -> List[Dict[str, Any]]:
    """One dict per config with the raw figures and the table cells.

    ``time_kind``: ``'wall'`` (median ± std of the wall-clock time) or
    ``'cpu'`` (median process CPU time) for the testing-time column.
    """
    bench_rows = (bench or {}).get('results', [])
    rows = []
    for config in configs:
        cfg = pf.load_config(config)
        stem = osp.splitext(osp.basename(config))[0]
        timing = bm.find_row(bench_rows, config, 'model')
        params = timing.get('params') if timing else None
        if params is None:
            model = pf.build_model(cfg, init_weights=False)
            params = pf.count_params(model)
            del model
        metrics = metrics_for(config, explicit_metrics or {}, work_dirs)
        if timing and time_kind == 'cpu' and 'cpu_median_s' in timing:
            time_cell = f"{timing['cpu_median_s']:.3f} s (CPU)"
        elif timing and 'median_s' in timing:
            time_cell = f"{timing['median_s']:.3f} s ± {timing['std_s']:.3f}"
        elif timing and 'error' in timing:
            time_cell = 'failed'
        else:
            time_cell = 'not measured'
        cells = [
            model_name(stem, cfg),
            backbone_name(cfg),
            f"{params['inference'] / 1e6:.2f}M",
            crop_size(cfg),
            _pct(metrics, 'mIoU'),
            _pct(metrics, 'mDice'),
            _pct(metrics, 'aAcc'),
            time_cell,
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


def footnotes(rows: Sequence[dict], bench: Optional[dict],
              time_kind: str = 'wall') -> List[str]:
    notes = [
        'Params: parameters used at inference (training-only modules such '
        'as auxiliary heads excluded).',
        'mIoU / Dice / Pixel Accuracy: % from tools/test.py (IoUMetric: '
        '19 classes, dataset-level confusion, ignore 255); '
        f'"{NOT_TRAINED}": no test metrics given for that config.',
    ]
    if bench:
        env, settings = bench['env'], bench['settings']
        where = (env.get('gpu') if env['device'].startswith('cuda') else
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
            f"{env['torch']}, random weights, all rows in one run"
            + (f' (load average {load[0]:.2f} at its end).' if load else '.'))
    return notes


def to_markdown(rows: Sequence[dict],
                bench: Optional[dict] = None,
                time_kind: str = 'wall') -> str:
    table = pf.markdown_table(HEADER, [r['cells'] for r in rows])
    notes = footnotes(rows, bench, time_kind)
    return table + '\n\n' + '\n'.join(f'- {n}' for n in notes)


def write_csv(rows: Sequence[dict], path: str) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(row['cells'])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build the seed-style results table (Markdown and CSV)')
    parser.add_argument(
        'configs', nargs='+', help='config files, folders or glob patterns')
    parser.add_argument(
        '--metrics', nargs='+', default=[], metavar='CONFIG=PATH',
        help='test metrics per config: CONFIG (path, file name or stem) = '
        'the JSON tools/test.py wrote, or its work dir')
    parser.add_argument(
        '--work-dirs', help='find test metrics in WORK_DIRS/<config stem>/')
    parser.add_argument(
        '--bench', nargs='+', default=[],
        help='benchmark.py JSON file(s) with the latencies')
    parser.add_argument(
        '--measure', action='store_true',
        help='measure params and latency of every config now, in one run')
    parser.add_argument('--shape', type=int, nargs='+', default=[512, 512])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int)
    parser.add_argument(
        '--time', dest='time_kind', choices=['wall', 'cpu'], default='wall',
        help='testing-time column: wall-clock median ± std (default) or '
        'median process CPU time (less affected by other processes, '
        'especially with --threads 1)')
    parser.add_argument(
        '--bench-out', help='with --measure: also write the benchmark JSON')
    parser.add_argument('--md', help='write the Markdown table here')
    parser.add_argument('--csv', help='write the CSV table here')
    args = parser.parse_args(argv)
    if args.measure and args.bench:
        parser.error('give either --bench or --measure, not both')
    return args


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


def main(argv=None) -> List[Dict[str, Any]]:
    args = parse_args(argv)
    configs = pf.expand_configs(args.configs)
    explicit = {}
    for item in args.metrics:
        if '=' not in item:
            raise SystemExit(f'--metrics {item}: expected CONFIG=PATH')
        key, path = item.split('=', 1)
        explicit[key] = path
    if args.measure:
        bench = bm.run_benchmark(
            configs,
            pf.parse_shape(args.shape),
            parts=['model'],
            runs=args.runs,
            warmup=args.warmup,
            device=args.device,
            threads=args.threads,
            with_memory=False,
            log=lambda msg: print(msg, file=sys.stderr))
        if args.bench_out:
            with open(args.bench_out, 'w') as f:
                json.dump(bench, f, indent=2)
    else:
        bench = merge_bench(args.bench)
    rows = build_rows(configs, bench, explicit, args.work_dirs,
                      args.time_kind)
    text = to_markdown(rows, bench, args.time_kind)
    print(text)
    if args.md:
        with open(args.md, 'w') as f:
            f.write(text + '\n')
    if args.csv:
        write_csv(rows, args.csv)
    return rows


if __name__ == '__main__':
    main()
