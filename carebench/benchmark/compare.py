"""Is a difference real? Two figures with 95% intervals -> the difference, its interval
and a verdict: better, worse or within noise.

One implementation for every comparison CareBench makes (a KPI tile against the peers,
a brand against the focus brand, a period against another), so the dashboard and the
CLI can never disagree on what counts as a real difference.

The interval of a difference comes from the two intervals by MOVER (the "method of
variance estimates recovery", Zou & Donner 2008): with Wilson intervals for two rates
it is Newcombe's hybrid score interval for a difference of proportions (his method 10),
and it works the same for medians with their bootstrap intervals. It is narrower than
asking whether the two intervals overlap (two intervals can overlap a little while the
difference is still clear), and exactly as honest: the verdict is "within noise"
whenever the interval of the difference contains zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Better = Literal["lower", "higher"]
Verdict = Literal["better", "worse", "within noise", "not enough data"]

VERDICT_TEXT: dict[Verdict, str] = {
    "better": "better (real)",
    "worse": "worse (real)",
    "within noise": "within noise",
    "not enough data": "not enough data",
}


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% interval (any unit, the same for both sides of a comparison)."""

    value: float
    low: float
    high: float

    @property
    def known(self) -> bool:
        return not any(_missing(x) for x in (self.value, self.low, self.high))


@dataclass(frozen=True)
class Comparison:
    """`subject - reference` with its 95% interval, and what that says."""

    difference: float
    low: float
    high: float
    verdict: Verdict

    @property
    def real(self) -> bool:
        """The interval of the difference leaves out zero."""
        return self.verdict in ("better", "worse")

    @property
    def text(self) -> str:
        return VERDICT_TEXT[self.verdict]


# What a comparison says when one side has no figure.
UNKNOWN = Comparison(math.nan, math.nan, math.nan, "not enough data")


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def difference_interval(subject: Estimate, reference: Estimate) -> tuple[float, float, float]:
    """`subject - reference` and its 95% interval by MOVER (see the module docstring).

    Each side's interval may be asymmetric (Wilson near 0 or 1, a skewed median): the
    lower bound of the difference takes the subject's lower and the reference's upper
    half-width, and the other way round.
    """
    d = subject.value - reference.value
    low = d - math.hypot(subject.value - subject.low, reference.high - reference.value)
    high = d + math.hypot(subject.high - subject.value, reference.value - reference.low)
    return d, low, high


def compare(subject: Estimate, reference: Estimate, better: Better) -> Comparison:
    """Is `subject` really better or worse than `reference`?

    Parameters
    ----------
    subject, reference
        The two figures with their 95% intervals, in the same unit (two rates as
        fractions, two medians in seconds...). They are taken as independent samples.
    better
        "lower" when a smaller figure is better (times, deflection), else "higher".

    Returns
    -------
    The difference `subject - reference`, its 95% interval, and the verdict: "better"
    or "worse" (for the subject) when that interval leaves out zero, "within noise"
    when it contains zero (the data cannot tell them apart, which is not proof they are
    equal), "not enough data" when either side has no figure or no interval.
    """
    if not (subject.known and reference.known):
        return UNKNOWN
    d, low, high = difference_interval(subject, reference)
    verdict: Verdict = "within noise"
    if low > 0 or high < 0:
        higher = low > 0
        verdict = "better" if higher == (better == "higher") else "worse"
    return Comparison(d, low, high, verdict)


def median_estimate(estimates: Sequence[Estimate]) -> Estimate:
    """The median of several brands' figures, with an interval: the peers' median.

    With an odd count the median is one brand's figure and keeps that brand's interval;
    with an even count it is the mean of the middle two, whose interval comes from
    theirs (MOVER again: the half-widths add in quadrature, halved). Brands without a
    figure are left out; none left gives an unknown estimate.
    """
    known = sorted((e for e in estimates if e.known), key=lambda e: e.value)
    if not known:
        return Estimate(math.nan, math.nan, math.nan)
    middle = len(known) // 2
    if len(known) % 2:
        return known[middle]
    a, b = known[middle - 1], known[middle]
    value = (a.value + b.value) / 2
    return Estimate(
        value,
        value - math.hypot(a.value - a.low, b.value - b.low) / 2,
        value + math.hypot(a.high - a.value, b.high - b.value) / 2,
    )
