"""Which training-only modules run at inference (forward hooks)."""
from typing import Any, Callable, Dict, List, Sequence, Tuple

import torch
from torch import nn

from ..configs import config_stem, load_config
from ..model_builders import build_model, image_metas, inference_forward
from ..params import count_params
from ..train_step import random_batch

#: Modules that only training uses, by class name (and every ``*Loss``).
TRAINING_ONLY_TYPES = ('ProjectionHead', 'CACBranch', 'MultiScaleContrastHead')
TRAINING_ONLY_PATHS = ('auxiliary_head', )

#: An input size, (H, W), and the default size of the probe image.
Size = Tuple[int, int]
PROBE: Size = (64, 64)


def training_only_modules(model: nn.Module, probe: Size = PROBE) -> List[str]:
    """Paths of the modules that inference should never run.

    The union of: modules of a training-only class (projection heads, the
    CAC branch, MS/CS heads, every ``*Loss``), everything under an
    ``auxiliary_head``, and the modules whose parameters get no gradient
    from the inference output (:func:`..params.count_params`).

    Args:
        model (nn.Module): A segmentor.
        probe (tuple[int, int]): Probe image size (H, W). Defaults to
            (64, 64).

    Returns:
        list[str]: The outermost such module paths, sorted.
    """
    found = []
    for name, module in model.named_modules():
        kind = type(module).__name__
        if not name:
            continue
        if (kind in TRAINING_ONLY_TYPES or kind.endswith('Loss')
                or name.split('.')[0] in TRAINING_ONLY_PATHS):
            found.append(name)
    found += count_params(model, probe)['training_only_modules']
    # Keep the outermost paths only.
    unique: List[str] = []
    for name in sorted(set(found)):
        if not any(name.startswith(u + '.') for u in unique):
            unique.append(name)
    return unique


def count_calls(model: torch.nn.Module, names: Sequence[str],
                fn: Callable[[], Any]) -> Dict[str, int]:
    """How often each module in ``names`` (or a submodule) runs in ``fn``."""
    modules = dict(model.named_modules())
    calls = {name: 0 for name in names}
    handles = []
    for name in names:
        for sub_name, sub in modules[name].named_modules():

            def hook(module, args, name=name):
                calls[name] += 1

            handles.append(sub.register_forward_pre_hook(hook))
    try:
        fn()
    finally:
        for handle in handles:
            handle.remove()
    return calls


def inference_hook_check(config: str,
                         probe: Tuple[int, int] = (64, 64),
                         device: str = 'cpu') -> Dict[str, Any]:
    """Training-only modules that run during inference (should be none).

    Builds the model of ``config`` (random init), runs whole-image inference
    (``encode_decode``) and ``predict`` on a ``probe``-sized image with
    forward hooks on every training-only module, then one ``loss`` call in
    training mode to show that the same hooks do fire when the modules run.

    Args:
        config (str): The config file.
        probe (tuple[int, int]): Image size (H, W). Defaults to (64, 64).
        device (str): Device. Defaults to ``'cpu'``.

    Returns:
        dict: ``modules`` (the hooked paths), ``inference_calls`` (per
        path, during inference), ``training_calls`` (per path, during
        ``loss``), ``inference_total`` and ``training_total``.
    """
    cfg = load_config(config)
    model = build_model(cfg, device=device)
    names = training_only_modules(model, probe)
    torch.manual_seed(0)
    inputs = torch.randn(1, 3, *probe, device=device)
    metas = image_metas(*probe)

    def infer():
        with torch.inference_mode():
            inference_forward(model, inputs, metas)
            from mmseg.structures import SegDataSample
            sample = SegDataSample()
            sample.set_metainfo(metas[0])
            model.predict(inputs, [sample])

    inference_calls = count_calls(model, names, infer)
    data = random_batch(model, 2, probe, int(model.decode_head.num_classes),
                        device)
    model.train()

    def train():
        # The probe size as it is (the data preprocessor would pad it to
        # the config's crop).
        images = (torch.stack(data['inputs']).float() - 128.0) / 64.0
        model.loss(images, data['data_samples'])

    training_calls = count_calls(model, names, train)
    return dict(
        config=config,
        name=config_stem(config),
        probe=list(probe),
        modules=names,
        inference_calls=inference_calls,
        training_calls=training_calls,
        inference_total=sum(inference_calls.values()),
        training_total=sum(training_calls.values()))
