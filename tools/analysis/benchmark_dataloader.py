r"""Throughput of a config's training data loader, in images per second.

    python tools/analysis/benchmark_dataloader.py CONFIG \
        [--data-root DIR] [--num-workers N] [--batch-size N] \
        [--batches 20] [--warmup 2] [--step-time SECONDS | --train-step] \
        [--synthetic-size 2048 1024] [--synthetic-images 8] \
        [--cfg-options k=v ...] [--out loader.json]

What is timed: the config's ``train_dataloader`` exactly as training builds
it (``mmengine.runner.Runner.build_dataloader``: sampler, ``num_workers``,
``batch_size``, collate function and the whole ``train_pipeline`` - decoding
the PNGs, random resize, crop, flip, photometric distortion, packing), with
nothing consuming the batches. The first batch is reported on its own
(``startup_s``: worker start-up plus the first batch); after ``--warmup``
more batches, ``--batches`` batches are timed and ``images_per_s`` is their
image count over their wall time. The number of workers is the config's
unless ``--num-workers`` says otherwise.

Data: the config's data root when it holds a Cityscapes tree, else
``--data-root``, else a generated street-scene dataset in the Cityscapes
layout at Cityscapes' resolution (``--synthetic-size``, default 2048x1024,
so decoding and resizing cost what they cost on the real images), written
once to ``data/synthetic_cityscapes_<W>x<H>/`` (``--synthetic-dir``) and
reused. The JSON names the root used and where it came from.

Is loading or compute the bottleneck? ``--step-time S`` (seconds per
training step, e.g. from ``benchmark_train.py``) or ``--train-step``
(measure the step of the same config here, on random data of the crop size
with the loader's batch size, through ``benchmark_train.measure``) gives the
rate at which training consumes images, ``batch_size / step time``, and
``loader_over_step`` = loader images/s / consumed images/s. Above 1 the
loader keeps up; the target of this project is >= 2 with the default number
of workers. Both are measured alone: during training the workers share the
CPU with the training process, which on a small CPU lowers both rates.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as bm  # noqa: E402
import params_flops as pf  # noqa: E402

SCHEMA = 'mmseg_contrafusion.benchmark_dataloader/1'
REPO_ROOT = pf.REPO_ROOT
TARGET_RATIO = 2.0
MAKER = 'tools/dataset_converters/make_synthetic_cityscapes.py'
CONVERTER = 'tools/dataset_converters/cityscapes.py'


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def _load_tool(relative_path: str):
    """Import a script under the repository's ``tools/`` as a module."""
    import importlib.util
    path = osp.join(REPO_ROOT, relative_path)
    name = osp.splitext(osp.basename(path))[0]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def has_cityscapes_split(root: Optional[str], split: str = 'train') -> bool:
    """Whether ``root`` holds a converted Cityscapes ``split``."""
    if not root:
        return False
    img = osp.join(root, 'leftImg8bit', split)
    gt = osp.join(root, 'gtFine', split)
    if not (osp.isdir(img) and osp.isdir(gt)):
        return False
    for _, _, files in os.walk(gt):
        if any(f.endswith('_labelTrainIds.png') for f in files):
            return True
    return False


def synthetic_root(size: Tuple[int, int],
                   num_images: int,
                   folder: Optional[str] = None,
                   log: Callable[[str], None] = print) -> str:
    """A generated Cityscapes-layout training set, made once and reused.

    Args:
        size: Image size ``(width, height)``.
        num_images: Training images to generate.
        folder: Where; default ``data/synthetic_cityscapes_<W>x<H>/``.
        log: Progress messages.

    Returns:
        str: The data root (with a trailing separator).
    """
    width, height = size
    folder = folder or osp.join(REPO_ROOT, 'data',
                                f'synthetic_cityscapes_{width}x{height}')
    marker = osp.join(folder, 'synthetic_cityscapes.json')
    if osp.isfile(marker) and has_cityscapes_split(folder):
        with open(marker) as f:
            meta = json.load(f)
        if (meta.get('width'), meta.get('height')) == (width, height) and \
                meta.get('num_train', 0) >= num_images:
            return folder.rstrip(os.sep) + os.sep
    log(f'[benchmark_dataloader] generating {num_images} street scenes of '
        f'{width}x{height} in {folder} (once)')
    maker = _load_tool(MAKER)
    converter = _load_tool(CONVERTER)
    maker.make_synthetic_cityscapes(
        folder, num_train=num_images, num_val=1, width=width, height=height,
        seed=0, nproc=min(4, os.cpu_count() or 1))
    converter.convert_cityscapes(folder)
    return folder.rstrip(os.sep) + os.sep


def resolve_data_root(cfg,
                      data_root: Optional[str] = None,
                      synthetic_size: Tuple[int, int] = (2048, 1024),
                      synthetic_images: int = 8,
                      synthetic_dir: Optional[str] = None,
                      log: Callable[[str], None] = print) -> Tuple[str, str]:
    """The data root to load from and where it came from.

    Returns:
        tuple[str, str]: ``(root, source)`` with source ``'argument'``,
        ``'config'`` or ``'synthetic WxH'``.

    Raises:
        SystemExit: If ``data_root`` is given but holds no training split.
    """
    if data_root:
        if not has_cityscapes_split(data_root):
            raise SystemExit(
                f'--data-root {data_root}: no converted Cityscapes training '
                'split there (leftImg8bit/train and gtFine/train with '
                f'*_labelTrainIds.png); run `python {CONVERTER} {data_root}`')
        return data_root, 'argument'
    root = cfg.train_dataloader.dataset.get('data_root')
    if root and not osp.isabs(root):
        root = osp.join(REPO_ROOT, root) if not osp.isdir(root) else root
    if has_cityscapes_split(root):
        return root, 'config'
    log(f'[benchmark_dataloader] the config\'s data root {root} holds no '
        'Cityscapes training split; using generated data')
    root = synthetic_root(synthetic_size, synthetic_images, synthetic_dir,
                          log)
    return root, f'synthetic {synthetic_size[0]}x{synthetic_size[1]}'


# --------------------------------------------------------------------------
# loader
# --------------------------------------------------------------------------
def crop_size(cfg) -> Optional[Tuple[int, int]]:
    """The training crop (H, W) of a config, if it has one."""
    if cfg.get('crop_size'):
        return tuple(cfg.crop_size)
    for step in cfg.train_dataloader.dataset.get('pipeline', []):
        if step.get('type') == 'RandomCrop':
            return tuple(step['crop_size'])
    return None


def loader_config(cfg,
                  data_root: str,
                  num_workers: Optional[int] = None,
                  batch_size: Optional[int] = None) -> Dict[str, Any]:
    """The config's ``train_dataloader`` on ``data_root``."""
    loader = copy.deepcopy(cfg.train_dataloader)
    loader = loader.to_dict() if hasattr(loader, 'to_dict') else dict(loader)
    loader['dataset']['data_root'] = data_root
    if num_workers is not None:
        loader['num_workers'] = num_workers
    if batch_size is not None:
        loader['batch_size'] = batch_size
    if loader.get('num_workers', 0) == 0:
        loader['persistent_workers'] = False
    return loader


def build_loader(cfg, loader_cfg: Dict[str, Any], seed: int = 0):
    """Build a data loader as ``Runner`` does for training."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    pf.quiet_logging()
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return Runner.build_dataloader(copy.deepcopy(loader_cfg), seed=seed)


def _batch_images(batch: Any) -> int:
    if isinstance(batch, dict) and 'inputs' in batch:
        return len(batch['inputs'])
    return len(batch)


def _shutdown(iterator: Any) -> None:
    """Stop the worker processes of a loader iterator now."""
    shutdown = getattr(iterator, '_shutdown_workers', None)
    if shutdown is not None:
        try:
            shutdown()
        except Exception:  # pragma: no cover - best effort at exit
            pass


def time_loader(loader, batches: int = 20,
                warmup: int = 2) -> Dict[str, Any]:
    """Time ``batches`` batches of ``loader`` after start-up and warm-up.

    A finite sampler that runs out restarts the iteration (a new epoch); the
    restart counts in the timed wall time, as it does in training.

    Returns:
        dict: ``startup_s`` (first batch, including worker start-up),
        ``batch_times_s`` (wait for each timed batch), ``images``,
        ``seconds``, ``images_per_s``, ``batches_per_s`` and the median
        wait per batch.
    """
    import statistics
    iterator = iter(loader)

    def next_batch():
        nonlocal iterator
        try:
            return next(iterator)
        except StopIteration:
            iterator = iter(loader)
            return next(iterator)

    try:
        start = time.perf_counter()
        first = next_batch()
        startup = time.perf_counter() - start
        batch_size = _batch_images(first)
        for _ in range(warmup):
            next_batch()
        waits = []
        images = 0
        start = time.perf_counter()
        for _ in range(batches):
            tick = time.perf_counter()
            images += _batch_images(next_batch())
            waits.append(time.perf_counter() - tick)
        seconds = time.perf_counter() - start
    finally:
        _shutdown(iterator)
        _shutdown(getattr(loader, '_iterator', None))
    return dict(
        startup_s=startup,
        batch_size=batch_size,
        batches=batches,
        warmup=warmup,
        images=images,
        seconds=seconds,
        images_per_s=images / seconds,
        batches_per_s=batches / seconds,
        median_wait_s=statistics.median(waits),
        batch_times_s=waits)


def compare_with_step(images_per_s: float, step_s: float,
                      batch_size: int) -> Dict[str, float]:
    """How much faster the loader delivers than training consumes.

    Args:
        images_per_s: Loader throughput.
        step_s: Seconds per training step.
        batch_size: Images per training step.

    Returns:
        dict: ``step_s``, ``step_images_per_s`` and ``loader_over_step``.
    """
    consumed = batch_size / step_s
    return dict(
        step_s=step_s,
        step_images_per_s=consumed,
        loader_over_step=images_per_s / consumed)


def run_benchmark(config: str,
                  data_root: Optional[str] = None,
                  num_workers: Optional[int] = None,
                  batch_size: Optional[int] = None,
                  batches: int = 20,
                  warmup: int = 2,
                  step_time: Optional[float] = None,
                  train_step: bool = False,
                  train_runs: int = 2,
                  device: str = 'cpu',
                  synthetic_size: Tuple[int, int] = (2048, 1024),
                  synthetic_images: int = 8,
                  synthetic_dir: Optional[str] = None,
                  cfg_options: Optional[dict] = None,
                  log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Measure the loader of ``config`` (see the module doc); the JSON dict.

    Args:
        config: Config file.
        data_root: Data root to use instead of the config's.
        num_workers: Workers; None keeps the config's.
        batch_size: Images per batch; None keeps the config's.
        batches: Timed batches.
        warmup: Untimed batches after the first.
        step_time: Seconds per training step to compare with.
        train_step: Measure the training step of ``config`` here
            (``benchmark_train.measure``; ignored with ``step_time``).
        train_runs: Timed steps of that measurement.
        device: Device of the training step.
        synthetic_size: ``(width, height)`` of generated data.
        synthetic_images: Number of generated training images.
        synthetic_dir: Folder of the generated data.
        cfg_options: Overrides of the config.
        log: Progress messages.
    """
    cfg = pf.load_config(config, cfg_options)
    root, source = resolve_data_root(cfg, data_root, synthetic_size,
                                     synthetic_images, synthetic_dir, log)
    loader_cfg = loader_config(cfg, root, num_workers, batch_size)
    loader = build_loader(cfg, loader_cfg)
    default_workers = cfg.train_dataloader.get('num_workers', 0)
    log(f'[benchmark_dataloader] {osp.basename(config)}: '
        f"{loader_cfg.get('num_workers', 0)} workers, batch "
        f"{loader_cfg['batch_size']}, {len(loader.dataset)} images in "
        f'{root} ({source})')
    dataset_size = len(loader.dataset)
    timing = time_loader(loader, batches, warmup)
    del loader
    result: Dict[str, Any] = dict(
        schema=SCHEMA,
        env=bm.environment('cpu'),
        config=config,
        name=osp.splitext(osp.basename(config))[0],
        data_root=root,
        data_source=source,
        dataset_size=dataset_size,
        num_workers=loader_cfg.get('num_workers', 0),
        default_num_workers=default_workers,
        crop_size=list(crop_size(cfg) or []),
        **timing)
    result['env']['device'] = device
    if step_time is None and train_step:
        import benchmark_train as bt
        shape = crop_size(cfg) or (512, 512)
        log(f'[benchmark_dataloader] training step of {osp.basename(config)}'
            f' at {shape[0]}x{shape[1]}, batch {timing["batch_size"]}')
        row = bt.measure(
            config, shape=tuple(shape), batch=timing['batch_size'],
            warmup=1, runs=train_runs, device=device,
            cfg_options=cfg_options)
        if 'error' in row:
            raise SystemExit(f'training step failed: {row["error"]}')
        step_time = row['median_s']
        result['train_step'] = dict(
            source='benchmark_train.measure', shape=list(shape),
            times_s=row['times_s'], median_s=row['median_s'])
    if step_time is not None:
        result.update(
            compare_with_step(timing['images_per_s'], step_time,
                              timing['batch_size']))
        result['target_loader_over_step'] = TARGET_RATIO
    return result


def format_report(result: Dict[str, Any]) -> str:
    """Lines for the console."""
    lines = [
        f"{result['name']}: {result['images_per_s']:.2f} images/s "
        f"({result['num_workers']} workers"
        + (' = config default' if result['num_workers'] ==
           result['default_num_workers'] else
           f", config default {result['default_num_workers']}")
        + f", batch {result['batch_size']}, {result['batches']} batches "
        f"after {result['warmup']} warm-up; first batch "
        f"{result['startup_s']:.2f} s)",
        f"data: {result['data_root']} ({result['data_source']})",
    ]
    if 'loader_over_step' in result:
        verdict = ('loading is not the bottleneck' if
                   result['loader_over_step'] >= 1 else
                   'LOADING is the bottleneck')
        lines.append(
            f"training consumes {result['step_images_per_s']:.2f} images/s "
            f"({result['step_s']:.3f} s per step of {result['batch_size']}):"
            f" loader / step = {result['loader_over_step']:.2f} "
            f"(target >= {TARGET_RATIO:g}; {verdict})")
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Images per second of a config\'s training data loader')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--data-root', help='Cityscapes root to load (default: the config\'s '
        'if it exists, else generated data)')
    parser.add_argument(
        '--num-workers', type=int, help='loader workers (default: config)')
    parser.add_argument(
        '--batch-size', type=int, help='images per batch (default: config)')
    parser.add_argument(
        '--batches', type=int, default=20, help='timed batches')
    parser.add_argument(
        '--warmup', type=int, default=2,
        help='untimed batches after the first')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--step-time', type=float,
        help='seconds per training step to compare with')
    group.add_argument(
        '--train-step', action='store_true',
        help='measure the training step of the config and compare')
    parser.add_argument(
        '--device', default='cpu', help='device of --train-step')
    parser.add_argument(
        '--synthetic-size', type=int, nargs=2, default=[2048, 1024],
        metavar=('W', 'H'), help='size of generated images')
    parser.add_argument(
        '--synthetic-images', type=int, default=8,
        help='number of generated training images')
    parser.add_argument(
        '--synthetic-dir',
        help='folder of the generated data (default: '
        'data/synthetic_cityscapes_<W>x<H>/)')
    parser.add_argument('--out', help='write the result to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs')
    args = parser.parse_args(argv)
    if args.batches < 1 or args.warmup < 0:
        parser.error('--batches must be >= 1 and --warmup >= 0')
    if args.num_workers is not None and args.num_workers < 0:
        parser.error('--num-workers must be >= 0')
    return args


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    result = run_benchmark(
        args.config,
        data_root=args.data_root,
        num_workers=args.num_workers,
        batch_size=args.batch_size,
        batches=args.batches,
        warmup=args.warmup,
        step_time=args.step_time,
        train_step=args.train_step,
        device=args.device,
        synthetic_size=tuple(args.synthetic_size),
        synthetic_images=args.synthetic_images,
        synthetic_dir=args.synthetic_dir,
        cfg_options=args.cfg_options,
        log=lambda msg: print(msg, file=sys.stderr))
    print(format_report(result))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    main()
