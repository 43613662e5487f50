"""The whole performance report: settings, sections, checks, environment."""
import datetime
import json
import os.path as osp
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import torch

from ..timing import environment
from .checks import build_checks, time_basis
from .profiling import run_profile
from .sections import (export_deployment_models, run_data, run_deployment,
                       run_inference, run_training)
from .settings import (FULL_SETTINGS, QUICK_SETTINGS, TARGETS, role_configs,
                       train_batch_size)

SCHEMA = 'mmseg_contrafusion.performance_report/1'
SECTIONS = ('inference', 'deployment', 'training', 'data')


def thread_counts(threads: Union[None, int, Sequence[int]]) -> List[int]:
    """``threads`` as a list: one count, several, or torch's default."""
    if threads is None:
        return [torch.get_num_threads()]
    if isinstance(threads, int):
        return [threads]
    counts = [int(t) for t in threads]
    if not counts or min(counts) < 1:
        raise ValueError(f'thread counts must be >= 1, got {counts}')
    return counts


def run_report(quick: bool = False,
               sections: Sequence[str] = SECTIONS,
               device: str = 'cpu',
               threads: Union[None, int, Sequence[int]] = None,
               runs: Optional[int] = None,
               warmup: Optional[int] = None,
               batch: Optional[int] = None,
               profile: bool = False,
               config_overrides: Optional[Dict[str, str]] = None,
               data_root: Optional[str] = None,
               command: Optional[str] = None,
               log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Run the chosen sections; returns the report dict (the JSON).

    ``quick`` writes its tiny configs (and, without data, small generated
    images) to a temporary folder removed at the end.

    Args:
        quick (bool): Tiny configs at 64x64, few runs. Defaults to False.
        sections (Sequence[str]): Of :data:`SECTIONS`. Defaults to all.
        device (str): Device. Defaults to ``'cpu'``.
        threads (int | Sequence[int], optional): CPU thread counts. The
            inference and deployment sections are measured at each, the
            training, data and profile sections at the last. None means
            torch's default.
        runs (int, optional): Timed runs / steps instead of the settings'.
        warmup (int, optional): Warm-up runs / steps instead of the
            settings'.
        batch (int, optional): Images per training step; default the
            ``model`` config's ``train_dataloader.batch_size``.
        profile (bool): Add the top operators. Defaults to False.
        config_overrides (dict, optional): Role -> config.
        data_root (str, optional): Cityscapes root for the loader.
        command (str, optional): The command line shown in the Markdown.
        log (Callable[[str], None]): Progress messages.

    Returns:
        dict: ``schema``, ``date``, ``command``, ``settings``, ``configs``,
        ``targets``, the measured sections, ``checks``, ``env`` and
        ``elapsed_s``.
    """
    start = time.perf_counter()
    counts = thread_counts(threads)
    with tempfile.TemporaryDirectory(prefix='performance_report_') as tmp:
        settings = dict(QUICK_SETTINGS if quick else FULL_SETTINGS)
        if runs is not None:
            settings['runs'] = runs
        if warmup is not None:
            settings['warmup'] = warmup
        configs = role_configs(quick, config_overrides,
                               osp.join(tmp, 'configs'))
        batch = batch or train_batch_size(configs['model'])
        settings.update(
            device=device,
            quick=quick,
            batch=batch,
            sections=list(sections),
            threads=counts,
            time_basis=time_basis(device))
        settings['inference_shape'] = list(settings['inference_shape'])
        settings['train_shapes'] = [list(s) for s in settings['train_shapes']]
        report: Dict[str, Any] = dict(
            schema=SCHEMA,
            date=datetime.datetime.now().isoformat(timespec='seconds'),
            command=command or 'python tools/analysis/performance_report.py',
            settings=settings,
            configs=configs,
            targets=TARGETS)
        if 'inference' in sections:
            report['inference'] = [
                run_inference(configs, settings, device, t, log, i == 0)
                for i, t in enumerate(counts)
            ]
        files: Dict[str, str] = {}
        if 'deployment' in sections:
            if device != 'cpu':
                log('[performance] deployment: ONNX Runtime is timed on the '
                    'CPU only; skipped')
            else:
                files = export_deployment_models(configs, settings,
                                                 osp.join(tmp, 'onnx'), log)
                report['deployment'] = [
                    run_deployment(configs, settings, t, files, log)
                    for t in counts
                ]
        torch.set_num_threads(counts[-1])
        if 'training' in sections:
            report['training'] = run_training(configs, settings, batch, device,
                                              counts[-1], log)
        if 'data' in sections:
            report['data'] = run_data(configs, settings,
                                      report.get('training'), quick, data_root,
                                      log, tmp)
        if profile:
            report['profile'] = run_profile(
                configs,
                settings,
                batch,
                device,
                log,
                onnx_files=files,
                threads=counts)
    report['checks'] = build_checks(report)
    report['env'] = environment(device)
    report['env']['threads'] = ', '.join(map(str, counts))
    report['elapsed_s'] = time.perf_counter() - start
    return report


def render_report(path: str) -> Dict[str, Any]:
    """An earlier report JSON, its checks evaluated again (measures none)."""
    with open(path) as f:
        report = json.load(f)
    report['checks'] = build_checks(report)
    return report
