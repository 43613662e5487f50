"""Throughput of a config's training data loader, in images per second.

What is timed: the config's ``train_dataloader`` exactly as training builds
it (``mmengine.runner.Runner.build_dataloader``: sampler, ``num_workers``,
``batch_size``, collate function and the whole ``train_pipeline``), with
nothing consuming the batches. The first batch is reported on its own
(``startup_s``: worker start-up plus the first batch); after ``warmup``
more batches, ``batches`` batches are timed and ``images_per_s`` is their
image count over their wall time.

Data: the config's data root when it holds a Cityscapes tree, else the one
given, else a generated street-scene dataset in the Cityscapes layout
(:func:`synthetic_root`), written once and reused.

Compared with a training step (seconds per step, given or measured with
:func:`.train_step.measure`), ``loader_over_step`` = loader images/s /
images/s the step consumes; above 1 the loader keeps up, the target of this
project is :data:`TARGET_RATIO`.
"""
import copy
import importlib.util
import json
import os
import os.path as osp
import statistics
import sys
import time
from typing import Any, Callable, Dict, Optional, Tuple

from .configs import (REPO_ROOT, config_stem, load_config, repo_path,
                      train_crop_size)
from .model_builders import quiet_logging
from .timing import environment

SCHEMA = 'mmseg_contrafusion.benchmark_dataloader/1'
TARGET_RATIO = 2.0
MAKER = 'tools/dataset_converters/make_synthetic_cityscapes.py'
CONVERTER = 'tools/dataset_converters/cityscapes.py'


def _load_tool(relative_path: str):
    """Import a script under the repository's ``tools/`` as a module."""
    path = repo_path(relative_path)
    name = osp.splitext(osp.basename(path))[0]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def has_cityscapes_split(root: Optional[str], split: str = 'train') -> bool:
    """Whether ``root`` holds a converted Cityscapes ``split``.

    Args:
        root (str, optional): A data root.
        split (str): The split. Defaults to ``'train'``.

    Returns:
        bool: ``leftImg8bit/<split>`` and ``gtFine/<split>`` exist and the
        latter has ``*_labelTrainIds.png`` files.
    """
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
        size (tuple[int, int]): Image size ``(width, height)``.
        num_images (int): Training images to generate.
        folder (str, optional): Where; default
            ``data/synthetic_cityscapes_<W>x<H>/``.
        log (Callable[[str], None]): Progress messages.

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
        folder,
        num_train=num_images,
        num_val=1,
        width=width,
        height=height,
        seed=0,
        nproc=min(4,
                  os.cpu_count() or 1))
    converter.convert_cityscapes(folder)
    return folder.rstrip(os.sep) + os.sep


def resolve_data_root(cfg,
                      data_root: Optional[str] = None,
                      synthetic_size: Tuple[int, int] = (2048, 1024),
                      synthetic_images: int = 8,
                      synthetic_dir: Optional[str] = None,
                      log: Callable[[str], None] = print) -> Tuple[str, str]:
    """The data root to load from and where it came from.

    Args:
        cfg (mmengine.Config): The config.
        data_root (str, optional): A root given by the user.
        synthetic_size (tuple[int, int]): ``(width, height)`` of generated
            data. Defaults to (2048, 1024).
        synthetic_images (int): Generated training images. Defaults to 8.
        synthetic_dir (str, optional): Folder of the generated data.
        log (Callable[[str], None]): Progress messages.

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
    root = synthetic_root(synthetic_size, synthetic_images, synthetic_dir, log)
    return root, f'synthetic {synthetic_size[0]}x{synthetic_size[1]}'


def loader_config(cfg,
                  data_root: str,
                  num_workers: Optional[int] = None,
                  batch_size: Optional[int] = None) -> Dict[str, Any]:
    """The config's ``train_dataloader`` on ``data_root``.

    Args:
        cfg (mmengine.Config): The config.
        data_root (str): The data root.
        num_workers (int, optional): Workers; None keeps the config's.
        batch_size (int, optional): Batch size; None keeps the config's.

    Returns:
        dict: The loader settings (``persistent_workers`` off without
        workers).
    """
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
    quiet_logging()
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


def time_loader(loader, batches: int = 20, warmup: int = 2) -> Dict[str, Any]:
    """Time ``batches`` batches of ``loader`` after start-up and warm-up.

    A finite sampler that runs out restarts the iteration (a new epoch); the
    restart counts in the timed wall time, as it does in training.

    Args:
        loader (DataLoader): The loader.
        batches (int): Timed batches. Defaults to 20.
        warmup (int): Untimed batches after the first. Defaults to 2.

    Returns:
        dict: ``startup_s`` (first batch, including worker start-up),
        ``batch_size``, ``batches``, ``warmup``, ``images``, ``seconds``,
        ``images_per_s``, ``batches_per_s``, ``median_wait_s`` and
        ``batch_times_s`` (wait for each timed batch).
    """
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
        images_per_s (float): Loader throughput.
        step_s (float): Seconds per training step.
        batch_size (int): Images per training step.

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
        config (str): Config file.
        data_root (str, optional): Data root to use instead of the config's.
        num_workers (int, optional): Workers; None keeps the config's.
        batch_size (int, optional): Images per batch; None keeps the
            config's.
        batches (int): Timed batches. Defaults to 20.
        warmup (int): Untimed batches after the first. Defaults to 2.
        step_time (float, optional): Seconds per training step to compare
            with.
        train_step (bool): Measure the training step of ``config`` here
            (:func:`.train_step.measure`; ignored with ``step_time``).
            Defaults to False.
        train_runs (int): Timed steps of that measurement. Defaults to 2.
        device (str): Device of the training step. Defaults to ``'cpu'``.
        synthetic_size (tuple[int, int]): ``(width, height)`` of generated
            data. Defaults to (2048, 1024).
        synthetic_images (int): Number of generated training images.
            Defaults to 8.
        synthetic_dir (str, optional): Folder of the generated data.
        cfg_options (dict, optional): Overrides of the config.
        log (Callable[[str], None]): Progress messages.

    Returns:
        dict: The result (``schema``, ``env``, the loader settings and
        :func:`time_loader` figures; with a step time also
        :func:`compare_with_step` and ``target_loader_over_step``).

    Raises:
        SystemExit: If ``data_root`` holds no data or the measured training
            step fails.
    """
    cfg = load_config(config, cfg_options)
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
        env=environment('cpu'),
        config=config,
        name=config_stem(config),
        data_root=root,
        data_source=source,
        dataset_size=dataset_size,
        num_workers=loader_cfg.get('num_workers', 0),
        default_num_workers=default_workers,
        crop_size=list(train_crop_size(cfg) or []),
        **timing)
    result['env']['device'] = device
    if step_time is None and train_step:
        from .train_step import measure
        shape = train_crop_size(cfg) or (512, 512)
        log(f'[benchmark_dataloader] training step of {osp.basename(config)}'
            f' at {shape[0]}x{shape[1]}, batch {timing["batch_size"]}')
        row = measure(
            config,
            shape=tuple(shape),
            batch=timing['batch_size'],
            warmup=1,
            runs=train_runs,
            device=device,
            cfg_options=cfg_options)
        if 'error' in row:
            raise SystemExit(f'training step failed: {row["error"]}')
        step_time = row['median_s']
        result['train_step'] = dict(
            source='benchmark_train.measure',
            shape=list(shape),
            times_s=row['times_s'],
            median_s=row['median_s'])
    if step_time is not None:
        result.update(
            compare_with_step(timing['images_per_s'], step_time,
                              timing['batch_size']))
        result['target_loader_over_step'] = TARGET_RATIO
    return result


def format_report(result: Dict[str, Any]) -> str:
    """Lines for the console: throughput, data, and against the step."""
    lines = [
        f"{result['name']}: {result['images_per_s']:.2f} images/s "
        f"({result['num_workers']} workers" +
        (' = config default'
         if result['num_workers'] == result['default_num_workers'] else
         f", config default {result['default_num_workers']}") +
        f", batch {result['batch_size']}, {result['batches']} batches "
        f"after {result['warmup']} warm-up; first batch "
        f"{result['startup_s']:.2f} s)",
        f"data: {result['data_root']} ({result['data_source']})",
    ]
    if 'loader_over_step' in result:
        verdict = ('loading is not the bottleneck'
                   if result['loader_over_step'] >= 1 else
                   'LOADING is the bottleneck')
        lines.append(
            f"training consumes {result['step_images_per_s']:.2f} images/s "
            f"({result['step_s']:.3f} s per step of {result['batch_size']}):"
            f" loader / step = {result['loader_over_step']:.2f} "
            f"(target >= {TARGET_RATIO:g}; {verdict})")
    return '\n'.join(lines)
