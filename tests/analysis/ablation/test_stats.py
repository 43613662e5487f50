"""mmseg_contrafusion.analysis.ablation.stats against hand-computed cases."""
import math

import pytest

from mmseg_contrafusion.analysis.ablation.stats import (paired_difference,
                                                        summarise, t_critical)

# Student's t, two-sided 95%, 2 degrees of freedom (printed tables: 4.303).
T_95_DOF2 = 4.302653


def test_summary_is_mean_and_sample_std():
    summary = summarise([1.0, 2.0, 3.0, 6.0])
    assert summary.n == 4 and summary.mean == 3.0
    # Squared deviations 4 + 1 + 0 + 9 = 14, over n - 1 = 3.
    assert summary.std == pytest.approx(math.sqrt(14 / 3))
    assert summarise([5.0]).std is None
    with pytest.raises(ValueError):
        summarise([])


def test_t_critical_matches_the_table():
    assert t_critical(2) == pytest.approx(T_95_DOF2, abs=1e-6)
    assert t_critical(1000) == pytest.approx(1.962, abs=1e-3)


def test_paired_interval_by_hand():
    reference = {0: 48.0, 1: 49.0, 2: 50.0, 7: 40.0}  # seed 7: unpaired
    # Differences 2, 3, 1: mean 2, sd 1, half width t * 1 / sqrt(3).
    result = paired_difference({0: 50.0, 1: 52.0, 2: 51.0}, reference)
    half = T_95_DOF2 / math.sqrt(3)
    assert result.n == 3 and result.mean == pytest.approx(2.0)
    assert result.low == pytest.approx(2.0 - half, abs=1e-5)
    assert result.high == pytest.approx(2.0 + half, abs=1e-5)
    assert result.verdict == 'not distinguishable'  # [-0.48, 4.48]
    # Differences 2, 2.5, 1.5: sd 0.5, interval [0.76, 3.24].
    better = paired_difference({0: 50.0, 1: 51.5, 2: 51.5}, reference)
    assert better.low == pytest.approx(2.0 - half / 2, abs=1e-5)
    assert better.verdict == 'better'
    worse = paired_difference({0: 46.0, 1: 46.5, 2: 48.5}, reference)
    assert worse.high < 0 and worse.verdict == 'worse'


def test_one_paired_seed_gives_no_interval():
    result = paired_difference({0: 55.0, 3: 1.0}, {0: 50.0})
    assert (result.n, result.mean, result.low) == (1, 5.0, None)
    assert result.verdict == 'n/a (1 seed)'
    same = paired_difference({0: 51.0, 1: 52.0}, {0: 50.0, 1: 51.0})
    assert same.mean == 1.0 and same.verdict == 'n/a (no spread)'
    with pytest.raises(ValueError, match='no seed'):
        paired_difference({1: 1.0}, {0: 1.0})
