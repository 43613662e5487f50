"""Test metrics of trained configs, from the JSON that ``tools/test.py``
writes (mmengine's ``runner.test()``:
``<work_dir>/<timestamp>/<timestamp>.json``)."""
import glob
import json
import os.path as osp
from typing import Dict, Optional, Sequence

from .configs import config_stem

#: The metric cells of a config without test metrics.
NOT_TRAINED = 'not trained'


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
    """Metrics of a ``tools/test.py`` run.

    Args:
        path (str): Its JSON file, or a work dir (the newest JSON with an
            ``mIoU`` below it counts).

    Returns:
        dict: Metric name (prefix such as ``'val/'`` dropped) -> value, and
        ``source``, the file read.

    Raises:
        ValueError: If the file has no ``mIoU``.
        FileNotFoundError: If ``path`` or a metrics JSON under it is missing.
    """
    if osp.isfile(path):
        metrics = _metrics_from_file(path)
        if metrics is None:
            raise ValueError(f'{path} is not a test metrics JSON (no mIoU)')
        return dict(metrics, source=path)
    if osp.isdir(path):
        candidates = sorted(
            glob.glob(osp.join(path, '**', '*.json'), recursive=True),
            key=osp.getmtime,
            reverse=True)
        for candidate in candidates:
            metrics = _metrics_from_file(candidate)
            if metrics is not None:
                return dict(metrics, source=candidate)
        raise FileNotFoundError(
            f'no test metrics JSON (with mIoU) under {path}: run '
            '`python tools/test.py CONFIG CHECKPOINT --work-dir ...` first')
    raise FileNotFoundError(f'{path} does not exist')


def _key_matches(key: str, config: str) -> bool:
    return key in (config, osp.basename(config), config_stem(config)) or (
        osp.exists(key) and osp.exists(config) and osp.samefile(key, config))


def metrics_for(config: str, explicit: Dict[str, str],
                work_dirs: Optional[str]) -> Optional[Dict[str, float]]:
    """The test metrics of ``config``, or None.

    Args:
        config (str): The config file.
        explicit (dict): Config (path, file name or stem) -> metrics JSON
            or work dir; the first match wins.
        work_dirs (str, optional): Else ``work_dirs/<config stem>/``.

    Returns:
        dict | None: :func:`load_test_metrics`, or None when none is found.
    """
    for key, path in explicit.items():
        if _key_matches(key, config):
            return load_test_metrics(path)
    if work_dirs:
        candidate = osp.join(work_dirs, config_stem(config))
        if osp.isdir(candidate):
            try:
                return load_test_metrics(candidate)
            except FileNotFoundError:
                return None
    return None


def parse_metric_pairs(items: Sequence[str]) -> Dict[str, str]:
    """``CONFIG=PATH`` arguments as a dict.

    Raises:
        SystemExit: For an item without ``=``.
    """
    explicit = {}
    for item in items:
        if '=' not in item:
            raise SystemExit(f'--metrics {item}: expected CONFIG=PATH')
        key, path = item.split('=', 1)
        explicit[key] = path
    return explicit
