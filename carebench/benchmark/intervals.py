"""95% intervals: Wilson for rates, the exact bootstrap for medians and other quantiles."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion.

    Parameters
    ----------
    successes, n
        Count of successes and of trials. With n == 0 the interval is (nan, nan).

    Returns
    -------
    (low, high), both within [0, 1]. Unlike the normal approximation it stays sensible
    for small n and rates near 0 or 1, which is where workshop comparisons go wrong.
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 or n successes the bound is exactly 0 or 1; say so rather than print 5e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def quantile_interval(
    values: np.ndarray, q: float, confidence: float = 0.95
) -> tuple[float, float]:
    """Bootstrap percentile interval for the q-quantile, computed exactly.

    The bootstrap resamples n values with replacement and takes the order statistic of
    rank r = ceil(q * n). The number of resampled values at or below the k-th smallest
    value is Binomial(n, k / n), so the bootstrap distribution of that order statistic
    is known in closed form: P(X*_(r) <= x_(k)) = P(Binomial(n, k/n) >= r). This is the
    limit of resampling with infinitely many replicates: deterministic, no seed, and
    O(n) even for a brand with a million conversations.

    Returns (nan, nan) for an empty sample.
    """
    clean = np.sort(np.asarray(values, dtype=float)[~np.isnan(values)])
    n = len(clean)
    if n == 0:
        return (math.nan, math.nan)
    rank = max(1, math.ceil(q * n))
    tail = (1 - confidence) / 2
    low = clean[min(_first_k_reaching(tail, rank, n) - 1, n - 1)]
    high = clean[min(_first_k_reaching(1 - tail, rank, n) - 1, n - 1)]
    return (float(low), float(high))


# Points of the coarse pass of `_first_k_reaching`.
_GRID = 256


def _first_k_reaching(level: float, rank: int, n: int) -> int:
    """The least k in 1..n with P(Binomial(n, k / n) >= rank) >= level (n + 1 if none).

    That probability grows with k, so this is where `level` would be inserted in it
    over all k; it is found from a coarse grid of k, then within the bracketing step,
    so a brand with a million conversations costs ~500 evaluations, not a million.
    """
    step = max(1, n // _GRID)
    grid = np.arange(step, n + 1, step)
    above = int(np.searchsorted(stats.binom.sf(rank - 1, n, grid / n), level, side="left"))
    first = int(grid[above - 1]) + 1 if above else 1
    last = int(grid[above]) if above < len(grid) else n
    k = np.arange(first, last + 1)
    return first + int(np.searchsorted(stats.binom.sf(rank - 1, n, k / n), level, side="left"))
