"""Compatibility fixes for the pinned stack, applied once on import.

The project pins mmseg 1.2.2, mmengine 0.10.7 and mmcv 2.1.0 (their last
releases) on torch 2.13 and numpy >= 2.4. A few things in that combination are
broken upstream. Each fix below names what it repairs; each has a test in
``tests/test_compat.py`` that shows the failure without it.

Set ``MMSEG_CONTRAFUSION_DISABLE_COMPAT`` to a comma-separated list of fix
names (or ``all``) to turn fixes off, e.g. to check whether a newer stack
still needs them.
"""
import atexit
import contextlib
import os
from datetime import timedelta
from typing import Callable, Dict, List

import numpy as np
import torch

_APPLIED: List[str] = []


def _disabled() -> set:
    value = os.environ.get('MMSEG_CONTRAFUSION_DISABLE_COMPAT', '')
    return {name.strip() for name in value.split(',') if name.strip()}


def trusted_checkpoint_load() -> None:
    """Load local checkpoints written by mmengine on torch >= 2.6.

    torch 2.6 made ``torch.load(weights_only=True)`` the default, and mmengine
    0.10.7's local loader does not pass ``weights_only``. Checkpoints written by
    the Runner hold a ``HistoryBuffer`` and numpy scalars, so ``--resume``,
    ``load_from``, ``tools/test.py`` and ``mmseg.apis.init_model`` fail with
    ``UnpicklingError: Unsupported global`` (mmengine#1655; fixed on mmengine
    main only). Local files are the user's own, so they are loaded as trusted.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    def load_from_local(filename: str, map_location=None) -> dict:
        filename = os.path.expanduser(filename)
        if not os.path.isfile(filename):
            raise FileNotFoundError(
                f'{filename} can not be found: check the checkpoint path '
                '(`load_from`, `--resume`, or the CHECKPOINT argument).')
        return torch.load(
            filename, map_location=map_location, weights_only=False)

    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)


@contextlib.contextmanager
def _cuda_set_device_is_noop():
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda *args, **kwargs: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


def _destroy_process_group() -> None:
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return
    if dist.get_backend() == 'gloo':
        # Tear down together: a gloo rank whose peer has already closed its
        # connections can abort while destroying the group. Bounded, so a
        # rank that crashed does not keep the others waiting.
        try:
            dist.monitored_barrier(timeout=timedelta(seconds=60))
        except RuntimeError:
            pass
    dist.destroy_process_group()


def cpu_distributed() -> None:
    """Multi-process training and testing without a GPU (``--launcher pytorch``).

    mmengine 0.10.7 assumes CUDA in three places when distributed:
    ``_init_dist_pytorch`` calls ``torch.cuda.set_device`` (an AttributeError
    on CPU builds of torch), ``Runner.wrap_model`` gives DDP ``device_ids``
    (rejected for CPU modules), and SyncBN layers stay (they reject CPU
    tensors). Without CUDA this uses the gloo backend, skips the device
    setter, reverts SyncBN to BN and builds DDP without device ids. It also
    destroys the process group at exit; otherwise every rank aborts at
    interpreter shutdown ("terminate called without an active exception").
    """
    import mmengine.dist
    import mmengine.dist.utils
    import mmengine.runner.runner as runner_module
    from mmengine.model import is_model_wrapper, revert_sync_batchnorm

    original_init_dist = mmengine.dist.utils.init_dist

    def init_dist(launcher: str, backend: str = 'nccl', **kwargs) -> None:
        atexit.register(_destroy_process_group)
        if torch.cuda.is_available():
            return original_init_dist(launcher, backend, **kwargs)
        with _cuda_set_device_is_noop():
            return original_init_dist(launcher, 'gloo', **kwargs)

    # The Runner imported the function by name, so patch both references.
    mmengine.dist.utils.init_dist = init_dist
    mmengine.dist.init_dist = init_dist
    runner_module.init_dist = init_dist

    original_wrap_model = runner_module.Runner.wrap_model

    def wrap_model(self, model_wrapper_cfg, model):
        if (self.distributed and not torch.cuda.is_available()
                and not is_model_wrapper(model)):
            model = revert_sync_batchnorm(model)
            if model_wrapper_cfg is None:
                model_wrapper_cfg = dict(
                    type='MMDistributedDataParallel',
                    broadcast_buffers=False,
                    find_unused_parameters=self.cfg.get(
                        'find_unused_parameters', False))
            # An explicit value wins over the runner's default device ids.
            model_wrapper_cfg = dict(model_wrapper_cfg, device_ids=None)
        return original_wrap_model(self, model_wrapper_cfg, model)

    runner_module.Runner.wrap_model = wrap_model


def numpy_in1d() -> None:
    """Restore ``np.in1d`` (removed in numpy 2.4) for cityscapesscripts.

    cityscapesscripts 2.3.0's pixel-level evaluator, and so mmseg's
    ``CityscapesMetric``, call ``np.in1d`` (mcordts/cityscapesScripts#196 is
    still open). ``np.isin`` on the flattened input is the documented
    replacement.
    """
    if not hasattr(np, 'in1d'):

        def in1d(ar1, ar2, assume_unique=False, invert=False, **kwargs):
            return np.isin(
                np.ravel(ar1),
                ar2,
                assume_unique=assume_unique,
                invert=invert,
                **kwargs)

        np.in1d = in1d


def atomic_local_writes() -> None:
    """Write checkpoints atomically; resume from the newest complete one.

    mmengine's ``LocalBackend.put`` / ``put_text`` write straight into the
    target file, so a job killed while saving (preemption, OOM killer, a
    time limit) leaves a truncated ``iter_N.pth``. Here each write goes to a
    temporary file in the same folder and is renamed over the target only
    when complete, so a file holds either its old or its whole new content.
    The ``last_checkpoint`` pointer is written by ``CheckpointHook`` with a
    plain ``open()``; if it is empty or names a missing file, ``--resume``
    takes the newest ``iter_*.pth`` / ``epoch_*.pth`` instead.
    """
    import tempfile

    from mmengine.fileio.backends import local_backend
    from mmengine.utils import mkdir_or_exist

    def write_atomically(filepath, data, mode: str, **open_kwargs) -> None:
        filepath = str(filepath)
        folder = os.path.dirname(os.path.abspath(filepath))
        mkdir_or_exist(folder)
        fd, tmp = tempfile.mkstemp(
            dir=folder, prefix=f'.{os.path.basename(filepath)}.',
            suffix='.tmp')
        try:
            with os.fdopen(fd, mode, **open_kwargs) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def put(self, obj: bytes, filepath) -> None:
        write_atomically(filepath, obj, 'wb')

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        write_atomically(filepath, obj, 'w', encoding=encoding)

    local_backend.LocalBackend.put = put
    local_backend.LocalBackend.put_text = put_text

    # CheckpointHook writes the `last_checkpoint` pointer with a plain open(),
    # so a kill at that moment can leave it empty. With atomic checkpoint
    # files every *.pth on disk is complete: fall back to the newest one.
    import re

    import mmengine.runner.checkpoint as checkpoint_module
    import mmengine.runner.runner as runner_module
    original_find_latest = checkpoint_module.find_latest_checkpoint

    def find_latest_checkpoint(path: str):
        latest = original_find_latest(path)
        if latest and os.path.isfile(latest):
            return latest
        candidates = []
        for name in os.listdir(path) if os.path.isdir(path) else []:
            match = re.fullmatch(r'(iter|epoch)_(\d+)\.pth', name)
            if match:
                candidates.append((int(match.group(2)), name))
        return os.path.join(path, max(candidates)[1]) if candidates else None

    checkpoint_module.find_latest_checkpoint = find_latest_checkpoint
    runner_module.find_latest_checkpoint = find_latest_checkpoint


FIXES: Dict[str, Callable[[], None]] = {
    'trusted_checkpoint_load': trusted_checkpoint_load,
    'cpu_distributed': cpu_distributed,
    'numpy_in1d': numpy_in1d,
    'atomic_local_writes': atomic_local_writes,
}


def apply() -> List[str]:
    """Apply every fix not disabled by ``MMSEG_CONTRAFUSION_DISABLE_COMPAT``.

    Returns:
        list[str]: Names of the fixes in effect. Calling it again is a no-op.
    """
    disabled = _disabled()
    for name, fix in FIXES.items():
        if name in _APPLIED or 'all' in disabled or name in disabled:
            continue
        fix()
        _APPLIED.append(name)
    return list(_APPLIED)
