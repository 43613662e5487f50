from typing import Optional

from mmengine.dist import all_reduce_params
from mmengine.hooks import SyncBuffersHook

from mmseg.registry import HOOKS


@HOOKS.register_module()
class IterSyncBuffersHook(SyncBuffersHook):
    """Average the ranks' buffers after every training iteration.

    Without SyncBN (which needs CUDA) each process of a distributed run
    updates its own BN running statistics. mmengine's ``SyncBuffersHook``
    averages them before validation only, but ``CheckpointHook`` saves rank
    0's copy earlier in the same iteration, so the validation score and a
    later test of the saved checkpoint disagree. Averaging after every
    iteration (above ``CheckpointHook``'s priority) keeps every rank, the
    validation and the checkpoint on the same buffers. The buffers are
    small (running means and variances), so the all-reduce is cheap.
    ``compat.cpu_distributed`` adds this hook to CPU multi-process runs.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """All-reduce (mean) the model's buffers across ranks."""
        if self.distributed:
            all_reduce_params(runner.model.buffers(), op='mean')
            # before_val_epoch then has nothing left to do.
            self.called_in_train = True
