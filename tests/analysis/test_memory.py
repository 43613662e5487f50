"""mmseg_contrafusion.analysis.memory: tensor and process memory."""
import torch

from mmseg_contrafusion.analysis.memory import (MemoryMeter, peak_memory,
                                                profiler_peak_bytes,
                                                step_memory, tensor_bytes,
                                                training_state_bytes)


def test_tensor_bytes_counts_each_tensor_once():
    x = torch.zeros(10)
    assert tensor_bytes([x, x, None, 3, torch.zeros(2, dtype=torch.int8)]) \
        == 42


def test_peak_of_a_forward_callable():
    size = 1 << 20

    def fn():
        return torch.ones(size // 4) + 1  # two float32 tensors of 1 MB

    assert profiler_peak_bytes(fn) >= size
    mem = peak_memory(fn, 'cpu', resident_bytes=100)
    assert mem['peak_bytes'] == 100 + mem['activation_bytes']
    assert 'torch.profiler' in mem['method']


def test_training_memory():
    model = torch.nn.Linear(4, 4)
    optimizer = torch.optim.AdamW(model.parameters())

    def step():
        optimizer.zero_grad()
        model(torch.randn(8, 4)).sum().backward()
        optimizer.step()

    step()
    # Weights, their gradients and two AdamW moments (+ step counters).
    assert training_state_bytes(model, optimizer) >= 4 * 20 * 4
    memory = step_memory(step, 'cpu')
    assert memory['peak_mem_mb'] > 0 and memory['step_mem_mb'] > 0
    assert memory['step_rss_mb'] >= 0 and 'RSS' in memory['mem_method']
    meter = MemoryMeter('cpu')
    meter.start()
    assert meter.stop()['peak_mem_mb'] > 0
