"""Config files for the analysis tools: finding, loading, identifying."""
import copy
import glob
import json
import os
import os.path as osp
from typing import Iterable, List, Optional, Tuple

from mmseg_contrafusion.utils import strip_pretrained

#: The repository root (configs are given relative to it).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def repo_path(path: str) -> str:
    """``path`` itself if absolute, else under :data:`REPO_ROOT`."""
    return path if osp.isabs(path) else osp.join(REPO_ROOT, path)


def config_stem(path: str) -> str:
    """The file name of a config without ``.py`` (its row name)."""
    return osp.splitext(osp.basename(path))[0]


def expand_configs(paths: Iterable[str]) -> List[str]:
    """Config files from files, folders (recursively) and glob patterns.

    Files under a ``_base_`` folder are skipped when a folder is given.

    Args:
        paths (Iterable[str]): Config files, folders or glob patterns.

    Returns:
        list[str]: The config files, in order, each once.

    Raises:
        FileNotFoundError: If a path matches no config file.
    """
    found: List[str] = []
    for path in paths:
        if osp.isdir(path):
            matches = sorted(
                p for p in glob.glob(
                    osp.join(path, '**', '*.py'), recursive=True)
                if '_base_' not in p.split(os.sep))
            if not matches:
                raise FileNotFoundError(f'no config files (*.py) in {path}')
        elif any(ch in path for ch in '*?['):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                raise FileNotFoundError(f'no config matches {path}')
        elif osp.isfile(path):
            matches = [path]
        else:
            raise FileNotFoundError(
                f'config {path} does not exist (give config files, folders '
                'of configs or glob patterns)')
        for match in matches:
            if match not in found:
                found.append(match)
    return found


def load_config(path: str, cfg_options: Optional[dict] = None):
    """Load a config (its ``custom_imports`` register the plugin).

    Args:
        path (str): The config file.
        cfg_options (dict, optional): Overrides merged into it
            (``--cfg-options``). Defaults to None.

    Returns:
        mmengine.Config: The config.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def model_key(cfg) -> str:
    """A key that is equal for configs that build the same model.

    Preprocessing, train/test settings (padding, test-time tiling) and
    pretrained weights do not change the network and are left out.

    Args:
        cfg (mmengine.Config): A loaded config.

    Returns:
        str: The ``model`` settings as sorted JSON.
    """
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg = model_cfg.to_dict() if hasattr(model_cfg,
                                               'to_dict') else dict(model_cfg)
    model_cfg.pop('data_preprocessor', None)
    model_cfg.pop('test_cfg', None)
    model_cfg.pop('train_cfg', None)
    strip_pretrained(model_cfg)
    return json.dumps(model_cfg, sort_keys=True, default=str)


def train_crop_size(cfg) -> Optional[Tuple[int, int]]:
    """The training crop ``(H, W)`` of a config, if it has one.

    Taken from ``crop_size``, else from the ``RandomCrop`` step of the
    training loader's pipeline (or of ``train_pipeline``); a single number
    means a square.

    Args:
        cfg (mmengine.Config): A loaded config.

    Returns:
        tuple[int, int] | None: The crop, or None without one.
    """
    crop = cfg.get('crop_size')
    if not crop:
        loader = cfg.get('train_dataloader') or {}
        pipelines = (loader.get('dataset',
                                {}).get('pipeline',
                                        []), cfg.get('train_pipeline', []))
        crop = next(
            (step['crop_size'] for pipeline in pipelines
             for step in pipeline or [] if step.get('type') == 'RandomCrop'),
            None)
    if not crop:
        return None
    if isinstance(crop, int):
        return (crop, crop)
    return tuple(crop)
