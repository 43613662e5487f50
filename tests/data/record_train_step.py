"""Test-only: record what one training step computes, on every process.

Imported through ``custom_imports`` by
``tests/tools/test_distributed_equivalence.py`` (with ``tests/data`` on
``PYTHONPATH``). The config uses:

- ``optim_wrapper=dict(type='GradRecordingOptimWrapper', ...)``: keeps the
  parameters and their gradients at the moment of the optimizer step, i.e.
  after the backward pass and, under DDP, after the gradients were averaged
  over the processes;
- ``custom_hooks=[dict(type='RecordTrainStepHook')]``: after each training
  iteration writes ``rank{RANK}_iter{N}.pt`` into the folder named by the
  environment variable ``RECORD_TRAIN_STEP_DIR`` with this process's loss
  terms (``log_vars``, not reduced over processes), the image files of its
  batch, and the recorded parameters and gradients by parameter name.
"""
import os
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper

from mmseg.registry import HOOKS, OPTIM_WRAPPERS

ENV_VAR = 'RECORD_TRAIN_STEP_DIR'


@OPTIM_WRAPPERS.register_module()
class GradRecordingOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` that keeps parameters and gradients of the step."""

    def step(self, **kwargs) -> None:
        self.recorded: Dict[int, tuple] = {}
        for group in self.optimizer.param_groups:
            for param in group['params']:
                grad = None if param.grad is None else \
                    param.grad.detach().clone()
                self.recorded[id(param)] = (param.detach().clone(), grad)
        super().step(**kwargs)


@HOOKS.register_module()
class RecordTrainStepHook(Hook):
    """Write this process's losses, batch, parameters and gradients."""

    priority = 'VERY_LOW'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        out_dir = os.environ.get(ENV_VAR)
        if not out_dir:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        recorded = getattr(runner.optim_wrapper, 'recorded', {})
        params, grads = {}, {}
        for name, param in model.named_parameters():
            if id(param) in recorded:
                params[name], grads[name] = recorded[id(param)]
        record = dict(
            rank=get_rank(),
            world_size=get_world_size(),
            iter=runner.iter + 1,
            losses={
                key: float(value)
                for key, value in (outputs or {}).items()
            },
            img_paths=[
                sample.img_path for sample in data_batch['data_samples']
            ],
            params=params,
            grads=grads)
        os.makedirs(out_dir, exist_ok=True)
        torch.save(
            record,
            osp.join(out_dir, f'rank{get_rank()}_iter{runner.iter + 1}.pt'))
