"""Keep the weight of chosen loss terms at zero for the first iterations."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS


@HOOKS.register_module()
class LossWeightWarmupHook(Hook):
    """Zero the weight of loss modules before iteration ``start_iter``.

    CAC (Lv et al., "Confidence-Aware Contrastive Learning for Semantic
    Segmentation", ACM MM 2023) trains its contrastive term with weight 0 for
    the first 5000 iterations, so the embeddings start from features that
    already segment. This hook finds the loss modules in ``runner.model``
    (unwrapped from DDP) whose ``loss_name`` (the key they are logged under,
    e.g. ``'loss_cac'``) or module path (e.g.
    ``'decode_head.cac_branch.loss_cac'``) is in ``loss_names``, and before
    every training iteration sets their ``attribute`` to

    - 0 while the iteration about to run (``runner.iter``, 0-based) is below
      ``start_iter``;
    - the value they were built with (from the config) from then on.

    The decision is taken from the iteration at every step, so a run resumed
    with ``--resume`` is right on either side of ``start_iter`` (the
    reference hook zeroes the weight only when a run starts at iteration 0).
    The loss itself still runs with weight 0: its term stays in the graph
    with zero gradient, so DDP without ``find_unused_parameters`` sees every
    parameter. The built value is restored after training.

    Args:
        start_iter (int): First iteration (0-based) with the full weight.
            Defaults to 5000.
        loss_names (str | Sequence[str]): ``loss_name`` values or module
            paths of the loss modules. Defaults to ``('loss_cac',)``.
        attribute (str): The weight attribute of those modules. Defaults to
            ``'loss_weight'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 start_iter: int = 5000,
                 loss_names: Union[str, Sequence[str]] = ('loss_cac', ),
                 attribute: str = 'loss_weight') -> None:
        if start_iter < 0:
            raise ValueError(f'start_iter must be >= 0, got {start_iter}')
        if isinstance(loss_names, str):
            loss_names = (loss_names, )
        if not loss_names:
            raise ValueError('loss_names must name at least one loss')
        self.start_iter = start_iter
        self.loss_names = tuple(loss_names)
        self.attribute = attribute
        self._base_weights: Dict[str, float] = {}
        self._warming: Optional[bool] = None

    def find_losses(self, model: nn.Module) -> List[Tuple[str, nn.Module]]:
        """The loss modules this hook controls.

        Args:
            model (nn.Module): The model, possibly wrapped (DDP).

        Returns:
            list[tuple[str, nn.Module]]: ``(module path, module)`` pairs.

        Raises:
            ValueError: When no module matches, or a match lacks
                ``attribute``.
        """
        if is_model_wrapper(model):
            model = model.module
        found = [(path, module) for path, module in model.named_modules()
                 if path in self.loss_names
                 or getattr(module, 'loss_name', None) in self.loss_names]
        if not found:
            raise ValueError(
                f'{self.__class__.__name__}: no module of the model has a '
                f'loss_name or path in {self.loss_names}')
        for path, module in found:
            if not hasattr(module, self.attribute):
                raise ValueError(f'{self.__class__.__name__}: {path} has no '
                                 f'attribute {self.attribute!r}')
        return found

    def weight_at(self, iteration: int, base: float) -> float:
        """The weight of a loss built with ``base`` at ``iteration``."""
        return 0. if iteration < self.start_iter else base

    def _apply(self, runner) -> None:
        warming = runner.iter < self.start_iter
        for path, module in self.find_losses(runner.model):
            if path not in self._base_weights:
                self._base_weights[path] = getattr(module, self.attribute)
            setattr(module, self.attribute,
                    self.weight_at(runner.iter, self._base_weights[path]))
        if warming != self._warming:
            names = ', '.join(self._base_weights)
            runner.logger.info(
                f'{self.__class__.__name__}: iteration {runner.iter}: ' +
                (f'{self.attribute} of {names} is 0 until iteration '
                 f'{self.start_iter}'
                 if warming else f'{self.attribute} of {names} restored to '
                 f'{list(self._base_weights.values())}'))
            self._warming = warming

    def before_train(self, runner) -> None:
        """Record the built weights and set them for ``runner.iter``."""
        self._apply(runner)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Set the weights for the iteration about to run."""
        self._apply(runner)

    def after_train(self, runner) -> None:
        """Put the built weights back."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        modules = dict(model.named_modules())
        for path, base in self._base_weights.items():
            if path in modules:
                setattr(modules[path], self.attribute, base)
        self._warming = None
