"""NumClassCheckHook: num_classes must match the dataset's classes."""
from types import SimpleNamespace

import pytest
import torch.nn as nn

from mmseg_contrafusion.engine.hooks import NumClassCheckHook


class Model(nn.Module):

    def __init__(self, num_classes, aux_classes=None):
        super().__init__()
        self.decode_head = SimpleNamespace(num_classes=num_classes)
        if aux_classes is not None:
            self.auxiliary_head = nn.ModuleList([nn.Identity()])
            self.auxiliary_head[0].num_classes = aux_classes


def runner(model, n_classes=19):
    loader = SimpleNamespace(
        dataset=SimpleNamespace(
            metainfo=dict(classes=tuple(f'c{i}' for i in range(n_classes)))))
    return SimpleNamespace(
        model=model, train_dataloader=loader, test_dataloader=loader)


def test_mismatch_names_key_and_both_numbers():
    with pytest.raises(ValueError) as info:
        NumClassCheckHook().before_train(runner(Model(20)))
    message = str(info.value)
    assert 'decode_head.num_classes=20' in message
    assert '19 classes' in message and 'num_classes=19' in message


def test_auxiliary_head_checked_too():
    with pytest.raises(ValueError, match=r'auxiliary_head\[0\]'):
        NumClassCheckHook().before_test(runner(Model(19, aux_classes=10)))


def test_match_passes():
    NumClassCheckHook().before_train(runner(Model(19, aux_classes=19)))
