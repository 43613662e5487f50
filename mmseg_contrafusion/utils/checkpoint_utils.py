"""Loading checkpoints safely, and comparing them with models."""
import os
import pickle
import re
import struct
import zipfile
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from .errors import ActionableError


def weight_mismatches(
        model_state: Dict[str, Any],
        checkpoint_state: Dict[str, Any]) -> Tuple[int, int, str]:
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
    keys = list(model_state) + [
        k for k in checkpoint_state if k not in model_state
    ]
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


def strip_module_prefix(state_dict: Dict[str, Any]) -> Dict[str, Any]:
    """Drop the ``module.`` prefix that a DDP-wrapped model's keys carry.

    Args:
        state_dict (dict[str, Tensor]): A state dict.

    Returns:
        dict[str, Tensor]: The same weights, ``module.`` removed from the
        start of every key that has it.
    """
    prefix = 'module.'
    return {
        (key[len(prefix):] if key.startswith(prefix) else key): value
        for key, value in state_dict.items()
    }


class CheckpointMismatchError(ActionableError):
    """The checkpoint was written by another model than the config's."""


def check_checkpoint_matches(model: Any,
                             state_dict: Dict[str, Any],
                             source: str,
                             config: str,
                             min_match: float = 1.0) -> None:
    """Refuse a checkpoint whose weights do not fit a model.

    mmengine and :func:`mmseg.apis.init_model` load checkpoints with
    ``strict=False`` and only log or warn about the keys that did not fit;
    this is the check that ``CheckpointMatchHook`` and
    :func:`mmseg_contrafusion.apis.load_checked_model` run instead.

    Args:
        model (nn.Module): The model the weights load into (the segmentor,
            not a DDP or TTA wrapper around it).
        state_dict (dict[str, Tensor]): The checkpoint's weights;
            ``module.`` prefixes are ignored.
        source (str): The checkpoint as the message names it, e.g. its path.
        config (str): The config as the message names it, e.g. its path or
            ``'this config (<path>)'``.
        min_match (float): Least fraction of the weights (of the model and
            the checkpoint together) that must match, in [0, 1]. Defaults to
            1.0: every weight.

    Raises:
        CheckpointMismatchError: In one line: ``<source> was not trained
            with <config>: N of M weights do not match (e.g. <the first
            mismatch>).``, and what to do about it.
    """
    mismatched, total, example = weight_mismatches(
        model.state_dict(), strip_module_prefix(state_dict))
    if not mismatched or 1 - mismatched / total >= min_match:
        return
    raise CheckpointMismatchError(
        f'{source} was not trained with {config}: {mismatched} of {total} '
        f'weights do not match (e.g. {example}). Use the checkpoint of this '
        'config, or the config the checkpoint was trained with.')


TRUST_CHECKPOINT_ENV = 'MMSEG_CONTRAFUSION_TRUST_CHECKPOINT'


class UntrustedCheckpointError(ActionableError):
    """A checkpoint needs a pickled global outside the allow-list."""


class CorruptCheckpointError(ActionableError):
    """A checkpoint file cannot be read (truncated, corrupt, not a
    checkpoint)."""


# The statistics ``HistoryBuffer`` pickles with itself (``__getstate__``),
# as ``getattr(HistoryBuffer, name)``, plus any registered in this process.
_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def history_buffer_method(owner: Any, name: str) -> Callable:
    """Stands in for ``builtins.getattr`` while a checkpoint is unpickled.

    mmengine's ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. Allowing ``getattr`` itself would
    let a file reach any attribute of any object it can build; this
    resolves exactly those methods and refuses everything else.

    Args:
        owner (Any): The object ``getattr`` is applied to.
        name (str): The attribute name.

    Returns:
        Callable: The statistics method.

    Raises:
        pickle.UnpicklingError: For any other lookup.
    """
    from mmengine.logging import HistoryBuffer
    allowed = set(_HISTORY_BUFFER_METHODS) | set(
        HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Unsupported global: GLOBAL builtins.getattr (on {owner!r}, '
        f'{name!r}): only HistoryBuffer statistics methods are allowed')


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The globals that checkpoints of mmengine 0.10.7's Runner hold.

    Beyond tensors and containers (which ``weights_only`` always allows), a
    checkpoint written by ``CheckpointHook`` carries the ``MessageHub``
    state: ``HistoryBuffer`` objects (numpy arrays inside, and their
    statistics methods as ``getattr(HistoryBuffer, name)``) and numpy
    scalars (``meta.seed``, logged values). Found by listing the globals in
    this project's own checkpoints: numpy's array and scalar reconstructors
    (under their numpy 2 names and the numpy 1 names older files carry),
    ``numpy.dtype``, ``_codecs.encode`` (the latin-1 bytes of an array) and
    :func:`history_buffer_method` in place of ``getattr``.

    Returns:
        list: Entries for :func:`torch.serialization.safe_globals`, an
        object or an ``(object, 'pickled.name')`` pair.
    """
    import codecs

    from mmengine.logging import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(
        np, '_core') else np.core.multiarray
    allowed: List[Union[Callable, Tuple[Callable, str]]] = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        codecs.encode,
        bytes,
        (multiarray._reconstruct, 'numpy._core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy._core.multiarray.scalar'),
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        (history_buffer_method, 'builtins.getattr'),
    ]
    # Unpickling a dtype builds an instance of its class (numpy 2:
    # numpy.dtypes.Float64DType, ...): those of the numeric and bool types.
    for scalar_type in (np.bool_, np.int8, np.int16, np.int32, np.int64,
                        np.uint8, np.uint16, np.uint32, np.uint64, np.float16,
                        np.float32, np.float64):
        allowed.append(type(np.dtype(scalar_type)))
    return allowed


def trust_checkpoints_from_env() -> bool:
    """Whether the user opted in to loading full-pickle checkpoints."""
    return os.environ.get(TRUST_CHECKPOINT_ENV,
                          '').lower() in ('1', 'true', 'yes')


# What torch's weights-only unpickler names when it refuses something.
_REFUSED = (re.compile(r'GLOBAL ([\w.]+)'),
            re.compile(r"but got <class '([\w.]+)'>"),
            re.compile(r'unrecognized function (\S+)'))


def load_checkpoint_file(filename: str,
                         map_location: Any = None,
                         trust: Optional[bool] = None) -> Any:
    """Load a local checkpoint without letting it run code.

    The file is unpickled with ``torch.load(weights_only=True)``, which
    only rebuilds tensors, containers and the globals of
    :func:`checkpoint_safe_globals`. A file that needs any other global (a
    legacy full pickle, a checkpoint holding custom objects, or a payload
    whose ``__reduce__`` would call ``os.system``) is refused before any of
    it runs.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | torch.device | callable, optional): As for
            :func:`torch.load`. Defaults to None.
        trust (bool, optional): Load the file as a full pickle, which runs
            whatever code it holds: only for files the user trusts. Defaults
            to None, which reads the opt-in from the environment variable
            ``MMSEG_CONTRAFUSION_TRUST_CHECKPOINT=1`` (what the tools'
            ``--trust-checkpoint`` flag sets).

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: The file does not exist.
        UntrustedCheckpointError: The file needs a global that is not
            allowed; the message names it and the opt-in.
        CorruptCheckpointError: The file is truncated or not a checkpoint.
    """
    import torch

    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(
            f'{filename} can not be found: check the checkpoint path '
            '(`load_from`, `--resume`, or the CHECKPOINT argument).')
    if trust is None:
        trust = trust_checkpoints_from_env()
    try:
        if trust:
            return torch.load(
                filename, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        match = next(
            (m for m in (p.search(str(error)) for p in _REFUSED) if m), None)
        if match is None:
            raise CorruptCheckpointError(
                f'{filename} is not a readable checkpoint '
                f'({_first_line(error)}): use another file, e.g. an earlier '
                'iter_*.pth of the same work dir.') from None
        raise UntrustedCheckpointError(
            f'{filename} was not loaded: it needs the pickled global '
            f"'{match.group(1)}', which is not one that mmengine checkpoints "
            'hold, and loading it could run code. If you trust this file, '
            'pass --trust-checkpoint to the tools, or set '
            f'{TRUST_CHECKPOINT_ENV}=1 for mmseg\'s own tools and '
            'mmseg.apis.init_model.') from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile,
            struct.error) as error:
        raise CorruptCheckpointError(
            f'{filename} is not a readable checkpoint (truncated or corrupt: '
            f'{_first_line(error)}): use another file, e.g. an earlier '
            'iter_*.pth of the same work dir.') from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
