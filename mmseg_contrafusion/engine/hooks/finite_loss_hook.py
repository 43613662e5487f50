import math
from typing import Optional

from mmengine.hooks import Hook

from mmseg.registry import HOOKS
from ...utils import ActionableError


class NonFiniteLossError(ActionableError):
    """A loss term became NaN or infinite; training stopped."""


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop training when any loss term is NaN or infinite.

    mmengine's ``CheckInvalidLossHook`` checks only the total loss and says
    neither which term nor which iteration. This hook checks every logged
    ``loss*`` term after each iteration, and raises before the checkpoint
    hook of that iteration runs, so the last checkpoint on disk stays the
    last good one and ``--resume`` continues from it.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """

    # Above the CheckpointHook (VERY_LOW), so a bad iteration is never saved.
    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Check the loss terms of this iteration."""
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        bad = {
            name: float(value)
            for name, value in outputs.items()
            if 'loss' in name and not math.isfinite(float(value))
        }
        if bad:
            terms = ', '.join(f'{name}={value}' for name, value in bad.items())
            last = _last_checkpoint(runner.work_dir)
            raise NonFiniteLossError(
                f'non-finite loss at iteration {runner.iter + 1}: {terms}. '
                'Training stopped before saving this iteration; ' +
                (f'the last good checkpoint is {last} (continue with '
                 '--resume after lowering the learning rate or the weight '
                 'of that term).' if last else 'no checkpoint was saved '
                 'yet; lower the learning rate or the weight of that term.'))


def _last_checkpoint(work_dir: str) -> Optional[str]:
    from mmengine.runner import find_latest_checkpoint
    return find_latest_checkpoint(work_dir)
