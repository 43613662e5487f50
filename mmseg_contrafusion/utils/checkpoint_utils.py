"""Comparing checkpoints with models."""
from typing import Any, Dict, Tuple


def weight_mismatches(model_state: Dict[str, Any],
                      checkpoint_state: Dict[str, Any]) -> Tuple[int, int,
                                                                 str]:
    """Compare a model's state dict with a checkpoint's.

    Args:
        model_state (dict[str, Tensor]): ``model.state_dict()``.
        checkpoint_state (dict[str, Tensor]): The checkpoint's weights.

    Returns:
        tuple[int, int, str]: The number of weights that do not match
        (missing from the checkpoint, not in the model, or of another
        shape), the number of weights of both together, and a description
        of the first mismatch ('' if all match).
    """
    keys = list(model_state) + [k for k in checkpoint_state
                                if k not in model_state]
    mismatched = 0
    example = ''
    for key in keys:
        if key not in checkpoint_state:
            problem = f"key '{key}' is missing from the checkpoint"
        elif key not in model_state:
            problem = f"key '{key}' is not in the model"
        else:
            ckpt_shape = tuple(getattr(checkpoint_state[key], 'shape', ()))
            model_shape = tuple(model_state[key].shape)
            if ckpt_shape == model_shape:
                continue
            problem = (f"key '{key}' has shape {ckpt_shape} in the "
                       f'checkpoint but {model_shape} in the model')
        mismatched += 1
        example = example or problem
    return mismatched, len(keys), example
