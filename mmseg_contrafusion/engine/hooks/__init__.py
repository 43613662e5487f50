from .checkpoint_match_hook import CheckpointMatchHook, CheckpointMismatchError
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .iter_sync_buffers_hook import IterSyncBuffersHook
from .loss_weight_warmup_hook import LossWeightWarmupHook
from .num_class_check_hook import NumClassCheckHook

__all__ = [
    'CheckpointMatchHook', 'CheckpointMismatchError', 'FiniteLossHook',
    'IterSyncBuffersHook', 'LossWeightWarmupHook', 'NonFiniteLossError',
    'NumClassCheckHook'
]
