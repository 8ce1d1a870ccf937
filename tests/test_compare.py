"""Real or noise: the one comparison of two figures with intervals (benchmark.compare)."""

from __future__ import annotations

import math

import pytest

from carebench.benchmark.compare import Estimate, compare, median_estimate
from carebench.benchmark.intervals import wilson_interval


def rate(hits: int, n: int) -> Estimate:
    return Estimate(hits / n, *wilson_interval(hits, n))


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873, table II, method 10.
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
    ],
)
def test_two_wilson_rates_give_newcombes_interval_of_their_difference(a, b, low, high):
    result = compare(rate(*a), rate(*b), "higher")
    assert (round(result.low, 4), round(result.high, 4)) == (low, high)
    assert result.verdict == "better" and result.real


def test_a_gap_inside_the_intervals_is_within_noise():
    # The issue's case: a deflection rate 5.4 pp above the peers', on ~100 conversations
    # each side, was painted "worse" though the intervals say nothing.
    focus, peers = rate(30, 100), rate(246, 1000)
    result = compare(focus, peers, "lower")
    assert result.difference == pytest.approx(0.054)
    assert result.low < 0 < result.high
    assert result.verdict == "within noise" and not result.real
    assert result.text == "within noise"


def test_direction_follows_which_way_is_better():
    fast, slow = Estimate(60, 50, 70), Estimate(600, 500, 700)
    assert compare(fast, slow, "lower").verdict == "better"
    assert compare(slow, fast, "lower").verdict == "worse"
    assert compare(fast, slow, "higher").verdict == "worse"
    assert compare(slow, fast, "higher").text == "better (real)"


def test_slightly_overlapping_intervals_can_still_be_a_real_difference():
    # Overlap is the conservative test; the interval of the difference is the exact one.
    a, b = Estimate(0.50, 0.45, 0.55), Estimate(0.60, 0.54, 0.66)
    assert a.high > b.low  # the intervals overlap
    assert compare(a, b, "higher").verdict == "worse"


def test_a_missing_figure_is_not_enough_data():
    missing = Estimate(math.nan, math.nan, math.nan)
    assert compare(missing, rate(5, 10), "higher").verdict == "not enough data"
    assert compare(rate(5, 10), missing, "lower").text == "not enough data"


def test_the_peers_median_keeps_an_interval():
    a, b, c = Estimate(1, 0, 2), Estimate(5, 4, 7), Estimate(9, 8, 10)
    assert median_estimate([c, a, b]) == b
    even = median_estimate([a, b, c, Estimate(11, 10, 12)])
    assert even.value == 7
    assert even.low == pytest.approx(7 - math.hypot(1, 1) / 2)
    assert even.high == pytest.approx(7 + math.hypot(2, 1) / 2)
    assert not median_estimate([Estimate(math.nan, math.nan, math.nan)]).known
