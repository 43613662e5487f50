"""Segmentors built for measuring, and the forward paths that are measured."""
import copy
from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmseg_contrafusion.utils import strip_pretrained

#: What a benchmark can time: the whole inference, the encoder(s), or each
#: backbone-like submodule alone.
PARTS = ('model', 'encoder', 'backbone')


def quiet_logging() -> None:
    """Keep mmengine's INFO messages (weight init tables) off the output."""
    from mmengine.logging import MMLogger
    name = 'mmseg_contrafusion_analysis'
    if not MMLogger.check_instance_created(name):
        MMLogger.get_instance(name, log_level='WARNING')
    else:
        # Make it the current instance again.
        MMLogger.get_instance(name)


def build_model(cfg,
                random_init: bool = True,
                checkpoint: Optional[str] = None,
                device: str = 'cpu',
                init_weights: bool = True) -> nn.Module:
    """Build the segmentor of ``cfg`` for single-process inference.

    Args:
        cfg (mmengine.Config): A loaded config.
        random_init (bool): Strip pretrained weights from the config and
            initialise randomly (no downloads). Defaults to True.
        checkpoint (str, optional): Weights to load after building.
            Defaults to None.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
        init_weights (bool): Run the models' own initialisers
            (``init_weights``); without, parameters keep PyTorch's default
            init (faster). Defaults to True.

    Returns:
        nn.Module: The segmentor in eval mode, SyncBN reverted to BN, with
        the config as ``model.cfg``.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from mmseg.registry import MODELS

    quiet_logging()
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    if random_init:
        strip_pretrained(model_cfg)
    model = MODELS.build(model_cfg)
    if init_weights and checkpoint is None:
        model.init_weights()
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    model = revert_sync_batchnorm(model)
    model.cfg = cfg
    return model.to(device).eval()


def image_metas(height: int, width: int, batch: int = 1) -> List[dict]:
    """Meta information of ``batch`` unpadded images of one size.

    Args:
        height (int): Image height.
        width (int): Image width.
        batch (int): Number of images. Defaults to 1.

    Returns:
        list[dict]: One meta dict per image.
    """
    meta = dict(
        ori_shape=(height, width),
        img_shape=(height, width),
        pad_shape=(height, width),
        padding_size=[0, 0, 0, 0],
        scale_factor=(1.0, 1.0),
        flip=False)
    return [dict(meta) for _ in range(batch)]


def inference_forward(model: nn.Module,
                      inputs: torch.Tensor,
                      metas: Optional[List[dict]] = None) -> torch.Tensor:
    """Whole-image inference: logits at the input size, no test-time aug.

    ``encode_decode`` of mmseg segmentors runs the encoder(s), neck and decode
    head and resizes the logits to the image; training-only modules (e.g.
    auxiliary and contrastive heads) do not run.

    Args:
        model (nn.Module): A segmentor.
        inputs (Tensor): Normalised images, shape (N, 3, H, W).
        metas (list[dict], optional): Their metas; default
            :func:`image_metas` of the input size.

    Returns:
        Tensor: Logits, shape (N, num_classes, H, W).
    """
    if metas is None:
        metas = image_metas(*inputs.shape[-2:], batch=inputs.shape[0])
    return model.encode_decode(inputs, metas)


def encoder_forward(model: nn.Module, inputs: torch.Tensor) -> Any:
    """The encoder part: ``model.extract_feat`` (every encoder and neck)."""
    return model.extract_feat(inputs)


def output_tensors(output: Any) -> List[torch.Tensor]:
    """Every tensor in a (nested) tuple, list or dict output, in order."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in output_tensors(item)]
    return []


def backbone_modules(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """Direct children of the segmentor that are backbones/encoders."""
    return [(name, child) for name, child in model.named_children()
            if 'backbone' in name or 'encoder' in name]


def part_forward(model: nn.Module, part: str,
                 inputs: torch.Tensor) -> Callable[[], Any]:
    """The forward callable of one part of a segmentor on fixed inputs.

    Args:
        model (nn.Module): A segmentor.
        part (str): ``'model'`` (whole inference), ``'encoder'``
            (``extract_feat``) or ``'backbone:<name>'`` (that submodule
            alone, called on the image).
        inputs (Tensor): Normalised images, shape (N, 3, H, W).

    Returns:
        Callable[[], Any]: Runs that part once.
    """
    if part == 'model':
        metas = image_metas(*inputs.shape[-2:], batch=inputs.shape[0])
        return lambda: inference_forward(model, inputs, metas)
    if part == 'encoder':
        return lambda: encoder_forward(model, inputs)
    if part.startswith('backbone:'):
        child = getattr(model, part.split(':', 1)[1])
        return lambda: child(inputs)
    raise ValueError(f'unknown part {part!r}')


def part_functions(model: nn.Module, parts: Sequence[str],
                   inputs: torch.Tensor) -> List[Tuple[str, Callable]]:
    """Named forward callables of ``parts`` (``backbone``: one each).

    Args:
        model (nn.Module): A segmentor.
        parts (Sequence[str]): Entries of :data:`PARTS`.
        inputs (Tensor): Normalised images, shape (N, 3, H, W).

    Returns:
        list[tuple[str, Callable]]: ``(row part, fn)`` pairs; the part of a
        backbone is ``backbone:<name>``.
    """
    functions: List[Tuple[str, Callable]] = []
    for part in parts:
        if part == 'backbone':
            names = [f'backbone:{name}' for name, _ in backbone_modules(model)]
        elif part in PARTS:
            names = [part]
        else:
            raise ValueError(f'unknown part {part!r}; choose from {PARTS}')
        functions += [(name, part_forward(model, name, inputs))
                      for name in names]
    return functions
