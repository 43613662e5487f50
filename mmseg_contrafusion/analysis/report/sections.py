"""Measuring the sections of the report: inference, training, data."""
import os.path as osp
import tempfile
from typing import Any, Callable, Dict, Optional

from .. import (backend_benchmark, dataloader_benchmark, inference_benchmark,
                train_benchmark)
from ..configs import load_config, train_crop_size
from ..memory import step_peak_memory
from ..train_step import TrainStep
from .hooks import inference_hook_check
from .ratios import deployment_ratios, inference_ratios, training_ratios

#: Roles timed under every backend by :func:`run_deployment`.
DEPLOYMENT_ROLES = ('model', 'segformer')


def run_inference(configs: Dict[str, str],
                  settings: Dict[str, Any],
                  device: str,
                  threads: Optional[int],
                  log: Callable[[str], None],
                  with_hooks: bool = True) -> Dict[str, Any]:
    """The inference section (see :mod:`..report`).

    Args:
        configs (dict): Role -> config.
        settings (dict): The report settings (``inference_shape``,
            ``runs``, ``warmup``, ``quick``, ``hook_probe``).
        device (str): Device.
        threads (int, optional): ``torch.set_num_threads``.
        log (Callable[[str], None]): Progress messages.
        with_hooks (bool): Also count the training-only module calls (they
            do not depend on ``threads``). Defaults to True.

    Returns:
        dict: ``shape``, ``threads``, ``benchmark`` (the benchmark result),
        ``ratios`` and ``hooks`` (:func:`.hooks.inference_hook_check` of
        the contrastive models; empty without ``with_hooks``).
    """
    shape = tuple(settings['inference_shape'])
    log(f'[performance] inference at {shape[0]}x{shape[1]}, {threads} '
        'threads')
    result = inference_benchmark.run_benchmark(
        [configs[r] for r in ('model', 'nocontrast', 'pspnet', 'segformer')],
        shape,
        parts=('model', ),
        runs=settings['runs'],
        warmup=settings['warmup'],
        device=device,
        threads=threads,
        baseline=configs['model'],
        with_params=not settings['quick'],
        with_memory=False,
        log=log,
        # Each encoder alone: only those of ContraFusionNet are needed.
        config_parts={configs['model']: ('model', 'backbone')})
    section = dict(
        shape=list(shape),
        threads=threads,
        benchmark=result,
        ratios=inference_ratios(result, configs),
        hooks=[])
    if with_hooks:
        log('[performance] training-only modules at inference (forward '
            'hooks)')
        section['hooks'] = [
            inference_hook_check(configs[role], tuple(settings['hook_probe']),
                                 device) for role in ('model', 'cac', 'mscs')
        ]
    return section


def export_deployment_models(configs: Dict[str, str], settings: Dict[str, Any],
                             folder: str,
                             log: Callable[[str], None]) -> Dict[str, str]:
    """Export the :data:`DEPLOYMENT_ROLES` once for every thread count.

    Returns:
        dict: Config -> its ONNX file in ``folder``.
    """
    shape = tuple(settings['inference_shape'])
    log(f'[performance] exporting {", ".join(DEPLOYMENT_ROLES)} to ONNX at '
        f'{shape[0]}x{shape[1]}')
    return backend_benchmark.export_models(
        [configs[r] for r in DEPLOYMENT_ROLES], shape, folder)


def run_deployment(configs: Dict[str, str], settings: Dict[str, Any],
                   threads: int, onnx_files: Dict[str, str],
                   log: Callable[[str], None]) -> Dict[str, Any]:
    """The deployment section at one thread count (CPU).

    ContraFusionNet and SegFormer (same MiT) under eager PyTorch and under
    ONNX Runtime, each backend timed in a process of its own
    (:func:`..backend_benchmark.run_backends`: a live ONNX Runtime thread
    pool slows eager PyTorch in the same process).

    Args:
        configs (dict): Role -> config.
        settings (dict): The report settings (``inference_shape``,
            ``runs``, ``warmup``).
        threads (int): Threads of both backends.
        onnx_files (dict): Config -> its export
            (:func:`export_deployment_models`).
        log (Callable[[str], None]): Progress messages.

    Returns:
        dict: ``shape``, ``threads``, ``benchmark`` (the backend benchmark
        result) and ``ratios`` (:func:`.ratios.deployment_ratios`).
    """
    shape = tuple(settings['inference_shape'])
    log(f'[performance] eager PyTorch and ONNX Runtime at {shape[0]}x'
        f'{shape[1]}, {threads} threads, a process each')
    result = backend_benchmark.run_backends(
        [configs[r] for r in DEPLOYMENT_ROLES],
        shape,
        runs=settings['runs'],
        warmup=settings['warmup'],
        threads=threads,
        onnx_files=onnx_files,
        log=log)
    return dict(
        shape=list(shape),
        threads=threads,
        benchmark=result,
        ratios=deployment_ratios(result, configs))


def add_step_memory(step: TrainStep, row: dict) -> None:
    """Add :func:`..memory.step_peak_memory` of ``step`` to its row."""
    row.update(
        step_peak_memory(step, step.model, step.optim_wrapper.optimizer,
                         step.device))


def run_training(configs: Dict[str, str], settings: Dict[str, Any], batch: int,
                 device: str, threads: Optional[int],
                 log: Callable[[str], None]) -> Dict[str, Any]:
    """The training section: one interleaved benchmark per shape.

    Args:
        configs (dict): Role -> config.
        settings (dict): The report settings (``train_shapes``, ``runs``,
            ``warmup``).
        batch (int): Images per step.
        device (str): Device.
        threads (int, optional): ``torch.set_num_threads``.
        log (Callable[[str], None]): Progress messages.

    Returns:
        dict: ``batch`` and ``shapes``: ``'HxW'`` -> ``shape``,
        ``benchmark`` and ``ratios``.
    """
    section: Dict[str, Any] = dict(batch=batch, shapes={})
    for shape in settings['train_shapes']:
        key = f'{shape[0]}x{shape[1]}'
        log(f'[performance] training steps at {key}, batch {batch}')
        result = train_benchmark.run_benchmark(
            [configs[r] for r in ('model', 'cac', 'mscs', 'nocontrast')],
            shape=tuple(shape),
            batch=batch,
            warmup=settings['warmup'],
            runs=settings['runs'],
            device=device,
            threads=threads,
            baseline=configs['nocontrast'],
            interleave=True,
            with_memory=False,
            log=log,
            after=add_step_memory)
        section['shapes'][key] = dict(
            shape=list(shape),
            benchmark=result,
            ratios=training_ratios(result, configs))
    return section


def run_data(configs: Dict[str, str],
             settings: Dict[str, Any],
             training: Optional[Dict[str, Any]],
             quick: bool,
             data_root: Optional[str],
             log: Callable[[str], None],
             scratch: Optional[str] = None) -> Dict[str, Any]:
    """The data section: loader throughput vs the measured step rate.

    The step compared with is ContraFusionNet's fastest measured step at
    its crop size (else at the first training shape).

    Args:
        configs (dict): Role -> config.
        settings (dict): The report settings (``loader_batches``,
            ``loader_warmup``).
        training (dict, optional): The training section, if measured.
        quick (bool): Without data, generate small images in ``scratch``
            (else Cityscapes-size ones in ``data/``).
        data_root (str, optional): Cityscapes root to load.
        log (Callable[[str], None]): Progress messages.
        scratch (str, optional): Folder for generated files.

    Returns:
        dict: :func:`..dataloader_benchmark.run_benchmark` with
        ``step_shape``.
    """
    config = configs['model']
    step_time = step_shape = None
    if training:
        crop = train_crop_size(load_config(config))
        shapes = training['shapes']
        key = f'{crop[0]}x{crop[1]}' if crop else None
        if key not in shapes:
            key = next(iter(shapes))
        row = train_benchmark.find_row(shapes[key]['benchmark']['results'],
                                       config)
        if row and 'median_s' in row:
            # The fastest step: the strictest comparison for the loader.
            step_time, step_shape = row['min_s'], key
    result = dataloader_benchmark.run_benchmark(
        config,
        data_root=data_root,
        batches=settings['loader_batches'],
        warmup=settings['loader_warmup'],
        step_time=step_time,
        synthetic_size=(256, 128) if quick else (2048, 1024),
        synthetic_images=4 if quick else 8,
        synthetic_dir=(osp.join(scratch or tempfile.gettempdir(),
                                'synthetic_cityscapes') if quick else None),
        log=log)
    result['step_shape'] = step_shape
    return result
