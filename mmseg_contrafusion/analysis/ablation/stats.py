"""Summaries of seeded runs: mean, spread and paired differences."""
import math
from typing import Dict, List, NamedTuple, Optional, Sequence

#: Confidence level of every interval in the report.
CONFIDENCE = 0.95


class Summary(NamedTuple):
    """Mean and sample standard deviation of one metric over seeds.

    Attributes:
        n (int): Number of runs.
        mean (float): Their mean.
        std (float | None): Sample standard deviation (n - 1); None for one
            run.
    """
    n: int
    mean: float
    std: Optional[float]


class PairedDifference(NamedTuple):
    """Variant minus reference, paired by seed, with a t interval.

    Attributes:
        n (int): Seeds run by both.
        mean (float): Mean of the per-seed differences.
        low (float | None): Lower end of the 95% interval (None: n < 2).
        high (float | None): Upper end.
        verdict (str): ``'better'`` (interval above 0), ``'worse'`` (below
            0), ``'not distinguishable'`` (contains 0), or no test:
            ``'n/a (1 seed)'``, ``'n/a (no spread)'`` (every seed gave the
            same difference, so the t interval is undefined).
    """
    n: int
    mean: float
    low: Optional[float]
    high: Optional[float]
    verdict: str


def summarise(values: Sequence[float]) -> Summary:
    """Mean and sample standard deviation.

    Raises:
        ValueError: For no values.
    """
    if not values:
        raise ValueError('no values to summarise')
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return Summary(n, mean, None)
    var = sum((v - mean)**2 for v in values) / (n - 1)
    return Summary(n, mean, math.sqrt(var))


def t_critical(dof: int, confidence: float = CONFIDENCE) -> float:
    """Two-sided critical value of Student's t (scipy)."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, dof))


def paired_difference(variant: Dict[int, float],
                      reference: Dict[int, float],
                      confidence: float = CONFIDENCE) -> PairedDifference:
    """Difference of a metric between two variants, paired by seed.

    With per-seed differences d_k (seeds run by both), the interval is
    mean(d) +- t_{n-1} * sd(d) / sqrt(n), Student's t at ``confidence``.

    Args:
        variant (dict[int, float]): Seed -> metric of the variant.
        reference (dict[int, float]): Seed -> metric of the reference.
        confidence (float): Level of the interval. Defaults to 0.95.

    Returns:
        PairedDifference: The mean difference, its interval and verdict.

    Raises:
        ValueError: If no seed was run by both.
    """
    seeds = sorted(set(variant) & set(reference))
    if not seeds:
        raise ValueError('no seed run by both the variant and the reference')
    diffs: List[float] = [variant[s] - reference[s] for s in seeds]
    summary = summarise(diffs)
    if summary.std is None:
        return PairedDifference(1, summary.mean, None, None, 'n/a (1 seed)')
    if summary.std == 0:
        return PairedDifference(summary.n, summary.mean, None, None,
                                'n/a (no spread)')
    half = t_critical(summary.n - 1, confidence) * summary.std / math.sqrt(
        summary.n)
    low, high = summary.mean - half, summary.mean + half
    verdict = 'better' if low > 0 else 'worse' if high < 0 else \
        'not distinguishable'
    return PairedDifference(summary.n, summary.mean, low, high, verdict)
