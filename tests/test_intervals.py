"""Intervals: Wilson for rates, the exact bootstrap for quantiles."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from carebench.benchmark.intervals import quantile_interval, wilson_interval


def test_wilson_known_value():
    # 8 of 10: the textbook Wilson 95% interval is 0.490 .. 0.943
    low, high = wilson_interval(8, 10)
    assert math.isclose(low, 0.4902, abs_tol=1e-3)
    assert math.isclose(high, 0.9433, abs_tol=1e-3)


def test_wilson_edges():
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    assert wilson_interval(0, 5)[0] == 0.0
    assert wilson_interval(5, 5)[1] == 1.0


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_contains_the_rate_and_stays_in_unit_interval(successes, n):
    successes = min(successes, n)
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_quantile_interval_matches_resampling():
    rng = np.random.default_rng(7)
    values = rng.lognormal(6, 1.5, 301)
    low, high = quantile_interval(values, 0.5)
    boot = [np.median(rng.choice(values, len(values))) for _ in range(4000)]
    mc_low, mc_high = np.percentile(boot, [2.5, 97.5])
    # The exact interval is the limit of resampling: Monte Carlo lands on the same
    # order statistics (or a neighbour, from simulation noise).
    sorted_values = np.sort(values)
    rank = np.searchsorted(sorted_values, [low, high, mc_low, mc_high])
    assert abs(rank[0] - rank[2]) <= 2 and abs(rank[1] - rank[3]) <= 2


def test_quantile_interval_edges():
    assert all(math.isnan(v) for v in quantile_interval(np.array([]), 0.5))
    assert quantile_interval(np.array([42.0]), 0.5) == (42.0, 42.0)
    assert quantile_interval(np.array([1.0, np.nan, 3.0]), 0.5)[0] >= 1.0


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=200), st.sampled_from([0.5, 0.9]))
def test_quantile_interval_brackets_the_estimate(values, q):
    array = np.array(values)
    low, high = quantile_interval(array, q)
    estimate = np.sort(array)[max(1, math.ceil(q * len(array))) - 1]
    assert low <= estimate <= high


def test_quantile_interval_is_the_exact_bootstrap_at_every_size():
    # The interval's ends are found from a coarse grid of k, then within one step:
    # they must be where the tail probability over every k puts them.
    from scipy import stats

    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 255, 256, 257, 511, 513, 1000, 4099):
        values = np.sort(rng.lognormal(size=n))
        for q in (0.05, 0.5, 0.9, 0.99):
            rank = max(1, math.ceil(q * n))
            cdf = stats.binom.sf(rank - 1, n, np.arange(1, n + 1) / n)
            expected = tuple(
                float(values[min(int(np.searchsorted(cdf, level)), n - 1)])
                for level in (0.025, 0.975)
            )
            assert quantile_interval(values, q) == expected
