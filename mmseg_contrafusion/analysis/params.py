"""Parameter counts of a segmentor: total and what inference uses.

The rule for ``inference``: run a forward path (by default the whole-image
inference, ``model.encode_decode``) in eval mode on a probe image and keep
the parameters that receive a gradient from its output. Parameters that only
training uses (auxiliary heads, contrastive projection heads, an unused
classifier) get none and are listed as training-only.
"""
from typing import Any, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from .model_builders import output_tensors, part_forward

#: Probe size for tracing which parameters the inference path uses. Which
#: modules run does not depend on the image size for these models; a small
#: probe keeps the backward pass cheap.
PROBE_SIZE = 64


def capped_probe(shape: Sequence[int]) -> Tuple[int, int]:
    """``shape`` (H, W) capped at :data:`PROBE_SIZE` on each side."""
    return (min(shape[0], PROBE_SIZE), min(shape[1], PROBE_SIZE))


def collapse_paths(names: Sequence[str], model: nn.Module) -> List[str]:
    """Smallest set of module paths whose parameters are exactly ``names``.

    Args:
        names (Sequence[str]): Parameter names of ``model``.
        model (nn.Module): Their model.

    Returns:
        list[str]: Sorted module (or parameter) paths.
    """
    unused = set(names)
    modules = dict(model.named_modules())
    result: List[str] = []
    for name in sorted(unused):
        path = name.rsplit('.', 1)[0] if '.' in name else ''
        # Climb while every parameter of the parent module is unused.
        while path:
            parent = path.rsplit('.', 1)[0] if '.' in path else ''
            if not parent:
                break
            parent_params = [
                f'{parent}.{n}' for n, _ in modules[parent].named_parameters()
            ]
            if not all(p in unused for p in parent_params):
                break
            path = parent
        entry = path or name
        if not any(entry == r or entry.startswith(r + '.') for r in result):
            result = [r for r in result if not r.startswith(entry + '.')]
            result.append(entry)
    return sorted(result)


def count_params(model: nn.Module,
                 probe_shape: Tuple[int, int] = (PROBE_SIZE, PROBE_SIZE),
                 part: str = 'model') -> Dict[str, Any]:
    """Total and inference-time parameter counts (see the module doc).

    Counting leaves the model as it was (mode, ``requires_grad``, no
    ``.grad``).

    Args:
        model (nn.Module): A built segmentor.
        probe_shape (tuple[int, int]): Size of the probe image (H, W).
            Defaults to (64, 64).
        part (str): ``'model'`` (whole inference), ``'encoder'`` (what
            ``extract_feat`` uses) or ``'backbone:<name>'`` (that submodule
            alone, called on the image). Defaults to ``'model'``.

    Returns:
        dict: ``total``, ``inference``, ``training_only`` (counts) and
        ``training_only_modules`` (module paths of the unused parameters).
    """
    named = [(n, p) for n, p in model.named_parameters()]
    total = sum(p.numel() for _, p in named)
    flags = [p.requires_grad for _, p in named]
    was_training = model.training
    device = named[0][1].device if named else torch.device('cpu')
    model.eval()
    try:
        for _, p in named:
            p.requires_grad_(True)
        inputs = torch.randn(1, 3, *probe_shape, device=device)
        with torch.enable_grad():
            outputs = output_tensors(part_forward(model, part, inputs)())
            scalar = sum(out.float().sum() for out in outputs)
            grads = torch.autograd.grad(
                scalar, [p for _, p in named], allow_unused=True)
    finally:
        for (_, p), flag in zip(named, flags):
            p.requires_grad_(flag)
        model.train(was_training)
    unused = [n for (n, _), g in zip(named, grads) if g is None]
    unused_set = set(unused)
    unused_count = sum(p.numel() for n, p in named if n in unused_set)
    return dict(
        total=total,
        inference=total - unused_count,
        training_only=unused_count,
        training_only_modules=collapse_paths(unused, model))
