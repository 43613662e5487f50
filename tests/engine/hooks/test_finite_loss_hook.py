"""FiniteLossHook: a NaN/inf loss term stops training, named."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import CheckpointHook

from mmseg_contrafusion.engine.hooks import FiniteLossHook, NonFiniteLossError


def fake_runner(work_dir, it=6):
    return SimpleNamespace(work_dir=str(work_dir), iter=it)


def test_names_the_term_iteration_and_last_checkpoint(tmp_path):
    (tmp_path / 'iter_4.pth').write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    hook = FiniteLossHook()
    outputs = {
        'loss': torch.tensor(float('nan')),
        'decode.loss_ce': torch.tensor(1.2),
        'decode.loss_contrast': torch.tensor(float('inf')),
        'decode.acc_seg': torch.tensor(50.0),
    }
    with pytest.raises(NonFiniteLossError) as info:
        hook.after_train_iter(fake_runner(tmp_path), 0, outputs=outputs)
    message = str(info.value)
    assert 'iteration 7' in message
    assert 'decode.loss_contrast=inf' in message and 'loss=nan' in message
    assert 'decode.loss_ce' not in message
    assert str(tmp_path / 'iter_4.pth') in message and '--resume' in message


def test_finite_losses_pass(tmp_path):
    FiniteLossHook().after_train_iter(
        fake_runner(tmp_path),
        0,
        outputs={
            'loss': torch.tensor(0.5),
            'decode.loss_ce': 0.5
        })


def test_runs_before_the_checkpoint_hook():
    """A bad iteration must stop before CheckpointHook saves it."""
    from mmengine.runner.priority import get_priority
    assert get_priority(FiniteLossHook.priority) < get_priority(
        CheckpointHook.priority)
