"""Compatibility fixes for the pinned stack, applied once on import.

The project pins mmseg 1.2.2, mmengine 0.10.7 and mmcv 2.1.0 (their last
releases) on torch 2.13. A few things in that combination are broken
upstream. Each fix below names what it repairs and is applied only where that
bug exists (checked on import); each has a test in ``tests/test_compat.py``
that shows the failure without it. :func:`describe` says which are active;
the tools log it once.

Set ``MMSEG_CONTRAFUSION_DISABLE_COMPAT`` to a comma-separated list of fix
names (or ``all``) to turn fixes off, e.g. to check whether a newer stack
still needs them.
"""
import atexit
import contextlib
import os
from datetime import timedelta
from typing import Callable, Dict, List, Tuple

import torch

_APPLIED: List[str] = []


def _disabled() -> set:
    value = os.environ.get('MMSEG_CONTRAFUSION_DISABLE_COMPAT', '')
    return {name.strip() for name in value.split(',') if name.strip()}


def _mmengine_loads_unsafely() -> bool:
    """Whether mmengine's local loader calls ``torch.load`` as it stands in
    0.10.7: without ``weights_only`` and without an allow-list."""
    import inspect

    from mmengine.runner.checkpoint import CheckpointLoader
    loader = CheckpointLoader._get_checkpoint_loader('local.pth')
    return 'weights_only' not in inspect.getsource(loader)


def safe_checkpoint_load() -> None:
    """Load local checkpoints with ``weights_only=True`` and an allow-list.

    mmengine 0.10.7's local loader calls ``torch.load`` without
    ``weights_only``. On torch >= 2.6 (``weights_only=True`` by default)
    that refuses the Runner's own checkpoints, which hold a
    ``HistoryBuffer`` and numpy scalars: ``--resume``, ``load_from``,
    ``tools/test.py`` and ``mmseg.apis.init_model`` fail with
    ``UnpicklingError: Unsupported global`` (mmengine#1655; fixed on
    mmengine main only). On older torch it unpickles anything, so a
    downloaded checkpoint could run code. Here every local file goes
    through :func:`~mmseg_contrafusion.utils.load_checkpoint_file`:
    ``weights_only=True`` with exactly the globals mmengine writes; other
    files are refused with one line naming the file, the global and the
    opt-in for a trusted file.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    from .utils.checkpoint_utils import load_checkpoint_file

    def load_from_local(filename: str, map_location=None) -> dict:
        return load_checkpoint_file(filename, map_location)

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
    """Multi-process training and testing without a GPU.

    For ``--launcher pytorch`` (``dist_train.sh`` / ``dist_test.sh``).

    mmengine 0.10.7 assumes CUDA in three places when distributed:
    ``_init_dist_pytorch`` calls ``torch.cuda.set_device`` (an AttributeError
    on CPU builds of torch), ``Runner.wrap_model`` gives DDP ``device_ids``
    (rejected for CPU modules), and SyncBN layers stay (they reject CPU
    tensors). Without CUDA this uses the gloo backend, skips the device
    setter, reverts SyncBN to BN and builds DDP without device ids. As BN
    then keeps one set of running statistics per process, it adds
    :class:`~mmseg_contrafusion.engine.hooks.IterSyncBuffersHook`, so
    validation and the saved checkpoint see the same buffers. It also
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

    original_register_hooks = runner_module.Runner.register_hooks

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        original_register_hooks(self, default_hooks, custom_hooks)
        if self.distributed and not torch.cuda.is_available():
            from .engine.hooks.iter_sync_buffers_hook import \
                IterSyncBuffersHook
            if not any(isinstance(h, IterSyncBuffersHook) for h in self.hooks):
                self.register_hook(IterSyncBuffersHook())

    runner_module.Runner.register_hooks = register_hooks


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
            dir=folder,
            prefix=f'.{os.path.basename(filepath)}.',
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


def _mmengine_writes_in_place() -> bool:
    """Whether mmengine's ``LocalBackend.put`` writes straight into the
    target file (as in 0.10.7) rather than renaming a finished one."""
    import inspect

    from mmengine.fileio.backends.local_backend import LocalBackend
    return 'replace' not in inspect.getsource(LocalBackend.put)


def class_weight_with_ignored_pixels() -> None:
    """Cross-entropy with ``class_weight`` on labels with ignored pixels.

    mmseg 1.2.2's ``cross_entropy`` (``CrossEntropyLoss`` with
    ``class_weight``, ``reduction='mean'``) computes its average factor as
    ``class_weight[label]`` summed over *every* pixel, so a label map with
    ``ignore_index`` (255 on Cityscapes, and the padding value of
    ``SegDataPreProcessor``) fails with ``IndexError: index 255 is out of
    bounds`` (mmsegmentation#3412, #3734; unfixed in 1.2.2). Here the factor
    is computed for the labelled pixels as upstream does (the sum of their
    class weights) and an ignored pixel adds 1 with ``avg_non_ignore=False``
    (every pixel counts, as without class weights) and 0 with
    ``avg_non_ignore=True``. Without ignored pixels the loss is upstream's;
    with all class weights 1 it is the loss without class weights.
    """
    import mmseg.models.losses as losses
    import mmseg.models.losses.cross_entropy_loss as ce_module

    original = ce_module.cross_entropy

    def cross_entropy(pred,
                      label,
                      weight=None,
                      class_weight=None,
                      reduction='mean',
                      avg_factor=None,
                      ignore_index=-100,
                      avg_non_ignore=False):
        if class_weight is not None and avg_factor is None \
                and reduction == 'mean':
            ignored = label == ignore_index
            label_weights = class_weight[label.masked_fill(ignored, 0)]
            avg_factor = label_weights.masked_fill(
                ignored, 0. if avg_non_ignore else 1.).sum()
        return original(pred, label, weight, class_weight, reduction,
                        avg_factor, ignore_index, avg_non_ignore)

    cross_entropy.__wrapped__ = original
    ce_module.cross_entropy = cross_entropy
    losses.cross_entropy = cross_entropy


def _class_weight_fails_on_ignored_pixels() -> bool:
    """Whether mmseg's ``cross_entropy`` with ``class_weight`` raises on a
    label with ``ignore_index`` (as 1.2.2 does; once fixed, the function
    the fix wraps)."""
    from mmseg.models.losses.cross_entropy_loss import cross_entropy
    cross_entropy = getattr(cross_entropy, '__wrapped__', cross_entropy)
    try:
        cross_entropy(
            torch.zeros(1, 2, 1, 2),
            torch.tensor([[[0, 255]]]),
            class_weight=torch.ones(2),
            ignore_index=255)
    except IndexError:
        return True
    return False


# name -> (fix, whether the stack has the bug it fixes)
FIXES: Dict[str, Tuple[Callable[[], None], Callable[[], bool]]] = {
    'safe_checkpoint_load': (safe_checkpoint_load, _mmengine_loads_unsafely),
    'cpu_distributed':
    (cpu_distributed, lambda: not torch.cuda.is_available()),
    'atomic_local_writes': (atomic_local_writes, _mmengine_writes_in_place),
    'class_weight_with_ignored_pixels':
    (class_weight_with_ignored_pixels, _class_weight_fails_on_ignored_pixels),
}


def apply() -> List[str]:
    """Apply each fix whose bug exists here, unless it is disabled by
    ``MMSEG_CONTRAFUSION_DISABLE_COMPAT``.

    Returns:
        list[str]: Names of the fixes in effect. Calling it again is a no-op.
    """
    disabled = _disabled()
    for name, (fix, needed) in FIXES.items():
        if name in _APPLIED or 'all' in disabled or name in disabled:
            continue
        if needed():
            fix()
            _APPLIED.append(name)
    return list(_APPLIED)


def describe() -> str:
    """One line for the tools' log: which fixes are active."""
    active = ', '.join(_APPLIED) or 'none'
    return (f'mmseg_contrafusion.compat: active fixes: {active} (turn one off '
            'with MMSEG_CONTRAFUSION_DISABLE_COMPAT=name)')
