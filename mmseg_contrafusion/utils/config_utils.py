"""Helpers for configs: building models without pretrained weights."""
from typing import Any


def _loads_weights(init_cfg: Any) -> bool:
    return isinstance(init_cfg, dict) and (init_cfg.get('type') == 'Pretrained'
                                           or 'checkpoint' in init_cfg)


def strip_pretrained(node: Any) -> int:
    """Remove weight loading from a model config, in place and recursively.

    Configs keep ImageNet-pretrained ``init_cfg`` for real training; tests,
    the demo, the benchmarks and inference from a checkpoint build with
    random init instead. ``pretrained='...'`` becomes ``None`` and
    ``init_cfg`` entries that load a checkpoint (``type='Pretrained'`` or with
    a ``checkpoint`` key) are dropped at any depth (e.g. both encoders of a
    ``DualEncoder``); other initialisers (Kaiming, Normal, ...) stay.

    Args:
        node (dict | list): A model config, or any part of one.

    Returns:
        int: How many settings were removed.
    """
    removed = 0
    if isinstance(node, dict):
        for key in list(node.keys()):
            value = node[key]
            if key == 'pretrained' and isinstance(value, str):
                node[key] = None
                removed += 1
            elif key == 'init_cfg' and value is not None:
                if isinstance(value, (list, tuple)):
                    kept = [v for v in value if not _loads_weights(v)]
                    removed += len(value) - len(kept)
                    node[key] = kept or None
                elif _loads_weights(value):
                    node[key] = None
                    removed += 1
            else:
                removed += strip_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            removed += strip_pretrained(item)
    return removed
