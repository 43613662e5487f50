"""Shared settings of the model tests."""
import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    """Run each model test on one intra-op thread.

    The models here are tiny: more threads buy nothing, and on a busy 2-core
    machine oversubscribed threads make small convolutions tens of times
    slower. The previous setting is restored afterwards.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
