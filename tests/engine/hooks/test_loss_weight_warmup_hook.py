"""LossWeightWarmupHook: zero before start_iter, then restored; resume."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import DataLoader

import mmseg_contrafusion  # noqa: F401
from mmseg.registry import HOOKS
from mmseg_contrafusion.engine.hooks import LossWeightWarmupHook
from mmseg_contrafusion.models.losses import CACLoss


class ToyLoss(nn.Module):
    """A weighted loss module as the hook finds it: loss_name + weight."""

    def __init__(self, loss_weight=0.4, loss_name='loss_toy'):
        super().__init__()
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def forward(self, x):
        return self.loss_weight * x.pow(2).mean()


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.head = nn.Module()
        self.head.loss_toy = ToyLoss()
        self.head.loss_cac = CACLoss(loss_weight=0.7)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(list(inputs)))
        if mode == 'loss':
            return dict(
                loss_toy=self.head.loss_toy(out),
                loss_plain=out.sum() * 0 + out.pow(2).mean())
        return out


def fake_runner(model, iteration):
    return SimpleNamespace(
        model=model,
        iter=iteration,
        logger=MMLogger.get_instance('test_warmup_hook'))


def weights(model):
    return (model.head.loss_toy.loss_weight, model.head.loss_cac.loss_weight)


def test_registered():
    hook = HOOKS.build(dict(type='LossWeightWarmupHook', start_iter=3))
    assert isinstance(hook, LossWeightWarmupHook)
    assert hook.loss_names == ('loss_cac', )


def test_zero_before_start_then_restored():
    model = ToyModel()
    hook = LossWeightWarmupHook(start_iter=3, loss_names='loss_toy')
    runner = fake_runner(model, 0)
    hook.before_train(runner)
    seen = []
    for it in range(6):
        runner.iter = it
        hook.before_train_iter(runner, it)
        seen.append(weights(model))
    # Only loss_toy is controlled; loss_cac keeps its weight.
    assert seen == [(0., 0.7)] * 3 + [(0.4, 0.7)] * 3
    hook.after_train(runner)
    assert weights(model) == (0.4, 0.7)


@pytest.mark.parametrize('resume_at, expected', [
    (0, [0., 0., 0., 0.4, 0.4]),
    (2, [0., 0.4, 0.4, 0.4, 0.4]),
    (5, [0.4] * 5),
])
def test_decided_by_iteration_after_resume(resume_at, expected):
    # A fresh hook and model (as after --resume) starting at resume_at.
    model = ToyModel()
    hook = LossWeightWarmupHook(start_iter=3, loss_names=['loss_toy'])
    runner = fake_runner(model, resume_at)
    hook.before_train(runner)
    seen = []
    for it in range(resume_at, resume_at + 5):
        runner.iter = it
        hook.before_train_iter(runner, it)
        seen.append(model.head.loss_toy.loss_weight)
    assert seen == expected


def test_finds_losses_by_name_or_path_in_wrapped_model():
    model = ToyModel()
    wrapped = nn.DataParallel(model)  # a model wrapper, as DDP is
    hook = LossWeightWarmupHook(
        start_iter=10, loss_names=['loss_cac', 'head.loss_toy'])
    found = [path for path, _ in hook.find_losses(wrapped)]
    assert found == ['head.loss_toy', 'head.loss_cac']
    hook.before_train_iter(fake_runner(wrapped, 4), 4)
    assert weights(model) == (0., 0.)
    with pytest.raises(ValueError, match='no module'):
        LossWeightWarmupHook(loss_names='loss_missing').find_losses(model)
    with pytest.raises(ValueError, match='attribute'):
        LossWeightWarmupHook(
            loss_names='loss_toy', attribute='weight').find_losses(model)


def test_zero_weight_keeps_the_term_in_the_graph():
    loss = CACLoss(loss_weight=0.)
    z = torch.nn.functional.normalize(torch.randn(6, 4), dim=1)
    z.requires_grad_()
    out = loss(z, torch.tensor([0, 0, 1, 1, 2, 2]), torch.full((6, 3), 1 / 3))
    assert out.item() == 0
    out.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()


class RecordWeight(Hook):
    """Records the loss weight each iteration trains with."""
    priority = 'LOW'  # after the warm-up hook (NORMAL)

    def __init__(self, log):
        self.log = log

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.log.append((runner.iter, runner.model.head.loss_toy.loss_weight))


def make_runner(work_dir, max_iters, log, resume=False):
    # More batches than iterations: no epoch turnover (mmengine sleeps 2 s).
    data = [dict(inputs=torch.randn(2)) for _ in range(24)]
    loader = DataLoader(
        data,
        batch_size=2,
        collate_fn=lambda b: dict(inputs=[d['inputs'] for d in b]))
    return Runner(
        model=ToyModel(),
        work_dir=work_dir,
        train_dataloader=loader,
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
            logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=[
            dict(
                type='LossWeightWarmupHook',
                start_iter=3,
                loss_names=['loss_toy']),
            RecordWeight(log)
        ],
        default_scope='mmseg',
        resume=resume,
        experiment_name=f'warmup_{max_iters}_{resume}',
        log_level='WARNING')


def test_runner_train_and_resume(tmp_path):
    work_dir = str(tmp_path)
    log = []
    make_runner(work_dir, 4, log).train()
    assert log == [(0, 0.), (1, 0.), (2, 0.), (3, 0.4)]
    assert osp.exists(osp.join(work_dir, 'iter_2.pth'))
    # Resume a run stopped at iteration 2 (inside the warm-up): the weight
    # stays 0 for iteration 2 and is restored at 3, as without the stop.
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'iter_2.pth'))
    log.clear()
    make_runner(work_dir, 6, log, resume=True).train()
    assert log == [(2, 0.), (3, 0.4), (4, 0.4), (5, 0.4)]
