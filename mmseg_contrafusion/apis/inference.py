"""Loading a segmentor whose checkpoint is checked, and predicting.

:func:`load_checked_model` builds the model with :func:`mmseg.apis.init_model`
(no pretrained downloads: the checkpoint supplies every weight) and, where
``init_model`` would only warn, refuses a checkpoint of another model
(:func:`~mmseg_contrafusion.utils.checkpoint_utils.check_checkpoint_matches`);
:func:`predict` runs :func:`mmseg.apis.inference_model` on one image.
"""
import os.path as osp
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..utils.checkpoint_utils import (check_checkpoint_matches,
                                      strip_module_prefix)
from ..utils.errors import ActionableError


class InferenceInputError(ActionableError):
    """A config, checkpoint, image or option given to inference is missing
    or unusable; the message names it and says why."""


def resolve_device(device: Optional[str]) -> str:
    """Check a device name, or pick the default one.

    Args:
        device (str, optional): ``cpu``, ``cuda`` or ``cuda:N``; None picks
            ``cuda:0`` when CUDA is available, else ``cpu``.

    Returns:
        str: The device name.

    Raises:
        ValueError: If ``device`` is not a device name.
        InferenceInputError: If it names CUDA and CUDA is not available.
    """
    import torch

    if device is None:
        return 'cuda:0' if torch.cuda.is_available() else 'cpu'
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f'--device {device} is not a device name (cpu, '
                         'cuda, cuda:N)') from None
    if parsed.type == 'cuda' and not torch.cuda.is_available():
        raise InferenceInputError(f'--device {device}: CUDA is not available '
                                  'on this machine; use --device cpu')
    return device


def check_model_files(config: str, checkpoint: str) -> None:
    """Check that a config and a checkpoint file exist.

    Raises:
        InferenceInputError: Naming the first one that does not.
    """
    for path, what in ((config, 'config'), (checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise InferenceInputError(f'{what} file {path} does not exist')


def read_checkpoint(path: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Load a checkpoint file on the CPU.

    Args:
        path (str): Checkpoint file (as written by mmengine's Runner, or a
            bare state dict).

    Returns:
        tuple[dict, dict]: The state dict (``module.`` prefixes removed) and
        the checkpoint's ``meta`` (empty if it has none).

    Raises:
        UntrustedCheckpointError: If the file needs pickled objects beyond
            what mmengine checkpoints hold.
        CorruptCheckpointError: If the file is truncated or corrupt.
        InferenceInputError: If it is otherwise not a readable checkpoint.
    """
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint

    try:
        checkpoint = _load_checkpoint(path, map_location='cpu')
    except ActionableError:  # refused or corrupt: says why
        raise
    except Exception as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise InferenceInputError(
            f'checkpoint {path} is not a readable checkpoint: {first}')
    if not isinstance(checkpoint, dict):
        raise InferenceInputError(
            f'checkpoint {path} holds no state dict (it holds a '
            f'{type(checkpoint).__name__})')
    state_dict = checkpoint.get('state_dict', checkpoint)
    meta = checkpoint.get('meta') if 'state_dict' in checkpoint else None
    if not isinstance(state_dict, dict) or not any(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise InferenceInputError(f'checkpoint {path} holds no model weights')
    meta = meta if isinstance(meta, dict) else {}
    return strip_module_prefix(state_dict), meta


def dataset_metainfo(cfg: Any) -> Dict[str, Any]:
    """Classes and palette of the config's test dataset class.

    Args:
        cfg (mmengine.Config): The config.

    Returns:
        dict: ``classes`` and ``palette`` of the dataset class's
        ``METAINFO`` (updated by the dataset config's ``metainfo``), or
        Cityscapes' if the config names no known dataset.
    """
    from mmseg.datasets import CityscapesDataset
    from mmseg.registry import DATASETS

    meta = dict(CityscapesDataset.METAINFO)
    dataset_cfg = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    dataset_cls = DATASETS.get(dataset_cfg.get('type', ''))
    if dataset_cls is not None and getattr(dataset_cls, 'METAINFO', None):
        meta = dict(dataset_cls.METAINFO)
    meta.update(dataset_cfg.get('metainfo') or {})
    return meta


def read_inference_config(config: str,
                          cfg_options: Optional[dict] = None) -> Any:
    """Read a config for inference: no pretrained weights, a test pipeline.

    Args:
        config (str): Config file.
        cfg_options (dict, optional): Overrides, as for ``--cfg-options``.
            Defaults to None.

    Returns:
        mmengine.Config: The config, every ``Pretrained`` ``init_cfg`` and
        ``pretrained`` entry of its model dropped, with a ``test_pipeline``
        (the test dataset's pipeline if it had none).

    Raises:
        InferenceInputError: If the config cannot be read, or has no model
            or no test pipeline.
    """
    from mmengine.config import Config

    from ..utils.config_utils import strip_pretrained

    try:
        cfg = Config.fromfile(config)
    except Exception as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise InferenceInputError(f'config {config} could not be read: '
                                  f'{first}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise InferenceInputError(f'config {config} has no `model`')
    strip_pretrained(cfg.model)
    if 'test_pipeline' not in cfg:
        pipeline = ((cfg.get('test_dataloader') or {}).get('dataset')
                    or {}).get('pipeline')
        if not pipeline:
            raise InferenceInputError(f'config {config} has no '
                                      '`test_pipeline`, which inference needs')
        cfg.test_pipeline = pipeline
    return cfg


def load_checked_model(config: str,
                       checkpoint: str,
                       device: str = 'cpu',
                       cfg_options: Optional[dict] = None):
    """Build a segmentor with ``init_model`` and load a matching checkpoint.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file trained with that config.
        device (str): Device to put the model on. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides for the config, as for
            ``--cfg-options``. Defaults to None.

    Returns:
        nn.Module: The segmentor in eval mode, with ``dataset_meta``
        (``classes``, ``palette``) from the checkpoint, or from the config's
        dataset class if the checkpoint has none.

    Raises:
        InferenceInputError: If a file is missing or unusable.
        CheckpointMismatchError: If the checkpoint's weights do not fit the
            config's model, in one line saying how many.
    """
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    from mmseg.apis import init_model

    check_model_files(config, checkpoint)
    cfg = read_inference_config(config, cfg_options)
    state_dict, meta = read_checkpoint(checkpoint)
    # init_model loads non-strictly (a wrong checkpoint only warns), so
    # build without weights, check, then load strictly.
    model = init_model(cfg, None, device='cpu')
    check_checkpoint_matches(model, state_dict, checkpoint, config)
    _load_checkpoint_to_model(model, dict(state_dict=state_dict), strict=True)
    dataset_meta = meta.get('dataset_meta') or {}
    if not dataset_meta.get('classes') or not dataset_meta.get('palette'):
        dataset_meta = dataset_metainfo(cfg)
    model.dataset_meta = dict(
        classes=tuple(dataset_meta['classes']),
        palette=[list(color) for color in dataset_meta['palette']])
    model.to(device)
    model.eval()
    return model


def predict(model, image: np.ndarray) -> np.ndarray:
    """Segment one image with ``inference_model``.

    Args:
        model (nn.Module): A segmentor from :func:`load_checked_model`.
        image (np.ndarray): BGR image, shape (H, W, 3).

    Returns:
        np.ndarray: Predicted train ids, shape (H, W), dtype uint8.
    """
    from mmseg.apis import inference_model

    result = inference_model(model, image)
    label = result.pred_sem_seg.data.squeeze(0).cpu().numpy()
    return label.astype(np.uint8)
