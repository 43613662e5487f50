"""mmseg_contrafusion.analysis.timing: clocks of forward callables."""
import pytest

from mmseg_contrafusion.analysis.timing import (environment, error_text,
                                                summarise, summarise_clocks,
                                                time_runs, wall_and_cpu_time)


def test_time_runs_calls_warmup_plus_runs():
    calls = []
    times = time_runs(lambda: calls.append(1), runs=3, warmup=2, device='cpu')
    assert len(calls) == 5 and len(times) == 3
    wall, cpu = wall_and_cpu_time(lambda: sum(range(1000)), 'cpu')
    assert wall >= 0 and cpu >= 0


def test_summaries():
    stats = summarise([3.0, 1.0, 2.0])
    assert stats['median_s'] == 2.0 and stats['min_s'] == 1.0
    assert stats['max_s'] == 3.0 and stats['std_s'] == pytest.approx(1.0)
    assert summarise([4.0])['std_s'] == 0.0
    row = summarise_clocks([(1.0, 0.5), (3.0, 1.5)])
    assert row['times_s'] == [1.0, 3.0] and row['cpu_times_s'] == [0.5, 1.5]
    assert row['median_s'] == 2.0 and row['cpu_median_s'] == 1.0
    assert error_text(ValueError('bad')) == 'ValueError: bad'


def test_environment():
    env = environment('cpu')
    for key in ('device', 'cpu', 'threads', 'torch', 'mmseg', 'date'):
        assert key in env, key
