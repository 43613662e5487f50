from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner import BaseLoop

from mmseg.registry import HOOKS
from ...utils.checkpoint_utils import (CheckpointMismatchError,
                                       check_checkpoint_matches)

__all__ = ['CheckpointMatchHook', 'CheckpointMismatchError']


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Refuse a checkpoint that does not belong to the config's model.

    mmengine loads ``load_from`` / the CHECKPOINT of ``tools/test.py`` with
    ``strict=False`` and only logs the keys that did not fit, so testing a
    checkpoint of another model silently scores a mostly random network.
    When testing or resuming, every weight must match. When training from
    ``load_from`` (fine-tuning, e.g. with another number of classes) a
    partial match is fine, but a checkpoint that fits less than
    ``min_train_match`` of the model's weights is an error.

    Args:
        min_train_match (float): Least fraction of matching weights for
            ``load_from`` in training. Defaults to 0.5.
    """

    def __init__(self, min_train_match: float = 0.5) -> None:
        self.min_train_match = min_train_match

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare the loaded weights with the model's.

        Raises:
            CheckpointMismatchError: If the weights do not fit (see
                :func:`check_checkpoint_matches`).
        """
        # mmengine's load_state_dict loads into the model inside a DDP or
        # TTA wrapper (``--tta``), so compare with that model.
        model = runner.model
        while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
            model = model.module
        training = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        fine_tuning = training and not runner._resume
        check_checkpoint_matches(
            model,
            checkpoint.get('state_dict', checkpoint),
            source=runner._load_from or 'the checkpoint',
            config=f'this config ({runner.cfg.filename})',
            min_match=self.min_train_match if fine_tuning else 1.0)
