"""Scored conversations -> the small tables the pages show and chart.

Pure pandas, no streamlit: every function here is unit-testable and returns an
aggregate (a row per brand, per brand and channel, per hour...), never the raw rows,
so the browser only ever receives what it draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from carebench.benchmark.compare import (
    UNKNOWN,
    Better,
    Comparison,
    Estimate,
    compare,
    median_estimate,
)
from carebench.benchmark.intervals import wilson_interval
from carebench.benchmark.scoring import OUTCOMES
from carebench.benchmark.text_signals import CHANNELS
from carebench.benchmark.view import view_mask

Unit = Literal["minutes", "share"]


@dataclass(frozen=True)
class Metric:
    """A scorecard column as the dashboard presents it."""

    column: str
    label: str
    unit: Unit
    better: Better
    meaning: str


# The headline metrics, in tile order. `column` is the scorecard's column name.
METRICS: tuple[Metric, ...] = (
    Metric(
        "ttfr_median_seconds",
        "Median first response",
        "minutes",
        "lower",
        "median time to first response over answered conversations",
    ),
    Metric(
        "sla_share",
        "Answered within SLA",
        "share",
        "higher",
        "share of answered conversations answered within the SLA",
    ),
    Metric(
        "resolution_rate",
        "Resolved in public",
        "share",
        "higher",
        "resolved / answered care requests",
    ),
    Metric(
        "deflection_rate",
        "Deflected",
        "share",
        "lower",
        "answered conversations sent to DM, phone, e-mail, web...",
    ),
    Metric(
        "templated_ratio",
        "Templated replies",
        "share",
        "lower",
        "brand posts that belong to a template",
    ),
    Metric(
        "empathy_rate",
        "Empathic first reply",
        "share",
        "higher",
        "first replies that acknowledge or apologise",
    ),
    Metric(
        "ttfr_p90_seconds",
        "P90 first response",
        "minutes",
        "lower",
        "9 in 10 answered conversations got a reply faster than this",
    ),
    Metric(
        "first_touch_deflection_rate",
        "Deflected at first reply",
        "share",
        "lower",
        "answered conversations whose first brand reply deflects",
    ),
    Metric(
        "personal_touch_rate",
        "Personal replies",
        "share",
        "higher",
        "brand posts signed by an agent or addressing the customer by name",
    ),
    Metric(
        "repeat_contact_rate",
        "Repeat contact",
        "share",
        "lower",
        "customers back with the same brand within 7 days",
    ),
)
METRIC_BY_COLUMN = {m.column: m for m in METRICS}
TILE_METRICS: tuple[Metric, ...] = METRICS[:6]


# -- formatting -------------------------------------------------------------------------


@dataclass(frozen=True)
class DisplayUnit:
    """How a figure is shown: its symbol and how many stored units (a fraction, seconds)
    make one displayed unit."""

    symbol: str
    per_unit: float

    def of(self, value: float) -> float:
        """A stored value (fraction, seconds) in this unit; NaN stays NaN."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return math.nan
        return float(value) / self.per_unit


PERCENT = DisplayUnit("%", 0.01)
SECONDS = DisplayUnit("s", 1.0)
MINUTES = DisplayUnit("min", 60.0)
HOURS = DisplayUnit("h", 3600.0)
DAYS_UNIT = DisplayUnit("d", 86400.0)
# Where a time moves to the next unit: the thresholds `format_duration` uses too, so a
# chart's axis and a tile never say "90 s" and "1.5 min" for the same figure.
_TIME_STEPS: tuple[tuple[float, DisplayUnit], ...] = (
    (120.0, SECONDS),
    (120 * 60.0, MINUTES),
    (48 * 3600.0, HOURS),
)
# A time axis whose largest figure is this many times its smallest goes logarithmic: on a
# linear axis one 6-day brand flattens every brand answering within the hour.
LOG_SPREAD = 30.0


def time_unit(seconds: Sequence[float] | pd.Series | np.ndarray) -> DisplayUnit:
    """The unit the typical time of `seconds` reads best in: s, min, h or d.

    Chosen from the median of the positive figures, with the thresholds of
    `format_duration`; minutes when there is no figure.
    """
    values = np.asarray(seconds, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return MINUTES
    typical = float(np.median(values))
    for limit, unit in _TIME_STEPS:
        if typical < limit:
            return unit
    return DAYS_UNIT


def display_unit(metric: Metric, values: Sequence[float] | pd.Series | np.ndarray) -> DisplayUnit:
    """Percent for a rate; for a time, the unit its figures read best in."""
    return PERCENT if metric.unit == "share" else time_unit(values)


def wide_spread(values: Sequence[float] | pd.Series | np.ndarray) -> bool:
    """Figures so far apart (largest / smallest > LOG_SPREAD) that a log axis is needed."""
    positive = np.asarray(values, dtype=float)
    positive = positive[np.isfinite(positive) & (positive > 0)]
    return bool(len(positive) > 1 and positive.max() / positive.min() > LOG_SPREAD)


def display_value(value: float, unit: Unit | DisplayUnit) -> float:
    """Seconds -> minutes (or the given unit), fractions -> percent: what a table shows."""
    if isinstance(unit, DisplayUnit):
        return unit.of(value)
    return (MINUTES if unit == "minutes" else PERCENT).of(value)


def unit_title(metric: Metric, unit: DisplayUnit) -> str:
    """ "Median first response (h)": a column or axis title naming its unit."""
    return f"{metric.label} ({unit.symbol})"


def format_value(value: float, unit: Unit) -> str:
    """12.5 min, 3.2 h, 45.1%; an em dash when there is nothing to measure."""
    if value is None or math.isnan(value):
        return "—"
    if unit == "share":
        return f"{value * 100:.1f}%"
    return format_duration(value)


def format_duration(seconds: float) -> str:
    """A time in the unit people read it in: seconds, minutes, hours or days."""
    if seconds is None or math.isnan(seconds):
        return "—"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.0f} s"
    if seconds < 120 * 60:
        return f"{sign}{seconds / 60:.1f} min"
    if seconds < 48 * 3600:
        return f"{sign}{seconds / 3600:.1f} h"
    return f"{sign}{seconds / 86400:.1f} days"


def format_delta(delta: float, unit: Unit) -> str | None:
    """+2.5 min / -3.1 pp; None when there is no peer to compare with."""
    if delta is None or math.isnan(delta):
        return None
    if unit == "share":
        return f"{delta * 100:+.1f} pp"
    text = format_duration(abs(delta))
    return ("+" if delta >= 0 else "-") + text


# -- scorecard page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """One KPI tile: the focus brand's figure and how far it is from its peers."""

    metric: Metric
    value: float
    low: float
    high: float
    n: int
    peer_median: float
    delta: float
    # The focus brand against the peers' median, intervals included.
    comparison: Comparison = UNKNOWN
    peer_low: float = math.nan
    peer_high: float = math.nan

    @property
    def text(self) -> str:
        return format_value(self.value, self.metric.unit)

    @property
    def delta_text(self) -> str | None:
        return format_delta(self.delta, self.metric.unit)

    @property
    def delta_color(self) -> Literal["normal", "inverse", "off"]:
        """Green or red only when the difference is real; grey when it is within noise."""
        if not self.comparison.real:
            return "off"
        # Streamlit paints a positive delta green; for "lower is better" that is wrong.
        return "inverse" if self.metric.better == "lower" else "normal"

    @property
    def delta_description(self) -> str | None:
        """Beside the delta, short enough for a tile: whether the gap is real."""
        if self.delta_text is None:
            return None
        return "real gap vs peers" if self.comparison.real else "within noise"


def _row_of(by_brand: pd.DataFrame, brand: str | None) -> pd.Series | None:
    """A brand's scorecard row (brands are unique in a scorecard), None when absent."""
    if brand is None or brand not in by_brand.index:
        return None
    return by_brand.loc[[brand]].iloc[0]


def estimate_of(row: pd.Series | None, column: str) -> Estimate:
    """A scorecard row's figure with its 95% interval (unknown when the row is None)."""
    if row is None:
        return Estimate(math.nan, math.nan, math.nan)
    return Estimate(float(row[column]), float(row[f"{column}_low"]), float(row[f"{column}_high"]))


def kpi_tiles(
    card: pd.DataFrame, focus: str, competitors: tuple[str, ...], metrics=TILE_METRICS
) -> list[Tile]:
    """The focus brand's figures with deltas against the competitors' median.

    Each tile also carries the verdict of `carebench.benchmark.compare.compare` on the
    focus figure against the peers' median, so its colour can say better or worse only
    when the intervals do.
    """
    by_brand = card.set_index("brand")
    peers = by_brand.loc[[b for b in competitors if b in by_brand.index]]
    focus_row = _row_of(by_brand, focus)

    tiles = []
    for metric in metrics:
        column = metric.column
        mine = estimate_of(focus_row, column)
        peer = median_estimate([estimate_of(row, column) for _, row in peers.iterrows()])
        tiles.append(
            Tile(
                metric=metric,
                value=mine.value,
                low=mine.low,
                high=mine.high,
                n=_count(focus_row, column),
                peer_median=peer.value,
                delta=mine.value - peer.value,
                comparison=compare(mine, peer, metric.better),
                peer_low=peer.low,
                peer_high=peer.high,
            )
        )
    return tiles


# The answered care requests the resolution rate is over, split by public outcome: the
# rate alone hides how many cases nothing in public settles (`unknown`).
OUTCOME_SPLIT: tuple[tuple[str, str], ...] = (
    ("resolved", "resolution_rate"),
    ("unresolved", "unresolved_share"),
    ("unknown", "unknown_share"),
)


@dataclass(frozen=True)
class Share:
    """One outcome's share of a brand's answered care requests, with its 95% interval."""

    outcome: str
    value: float
    low: float
    high: float
    n: int


def outcome_split(card: pd.DataFrame, brand: str) -> tuple[Share, ...]:
    """A brand's resolved, unresolved and unknown shares of its answered care requests.

    NaN shares (and n = 0) when the brand is not in the scorecard or has no answered
    care request.
    """
    rows = card[card["brand"] == brand]
    shares = []
    for outcome, column in OUTCOME_SPLIT:
        if rows.empty:
            shares.append(Share(outcome, math.nan, math.nan, math.nan, 0))
            continue
        row = rows.iloc[0]
        shares.append(
            Share(
                outcome,
                float(row[column]),
                float(row[f"{column}_low"]),
                float(row[f"{column}_high"]),
                int(row[f"{column}_n"]),
            )
        )
    return tuple(shares)


def _whole_percent(value: float) -> str:
    return "—" if math.isnan(value) else f"{value * 100:.0f}%"


def outcome_split_text(shares: Sequence[Share]) -> str:
    """The line beside the resolution tile's rate: "resolved 31% · unresolved 9% ·
    unknown 60%". Whole percents: the tile is read across a room, and the intervals are
    wider than a decimal anyway."""
    return " · ".join(f"{s.outcome} {_whole_percent(s.value)}" for s in shares)


def outcome_split_intervals(shares: Sequence[Share]) -> str:
    """Each share with its 95% interval and the n they share, for the tile's tooltip."""
    n = shares[0].n if shares else 0
    parts = [
        f"{s.outcome} {format_value(s.value, 'share')} "
        f"({format_value(s.low, 'share')} – {format_value(s.high, 'share')})"
        for s in shares
    ]
    return f"{'; '.join(parts)}; of {n:,} answered care requests."


def brand_vs_focus(card: pd.DataFrame, metric: Metric, focus: str | None) -> dict[str, Comparison]:
    """Every brand of the scorecard against the focus brand on one metric."""
    by_brand = card.set_index("brand")
    focus_row = _row_of(by_brand, focus)
    reference = estimate_of(focus_row, metric.column)
    return {
        str(brand): compare(estimate_of(row, metric.column), reference, metric.better)
        for brand, row in by_brand.iterrows()
    }


def ranking(card: pd.DataFrame, metric: Metric, focus: str | None) -> pd.DataFrame:
    """Brands ranked best first on one metric, with interval, n and the verdict vs focus.

    Values are in display units (minutes or percent), so the table and its CSV say the
    same thing. Brands with no figure rank last.
    """
    column = metric.column
    frame = card[["brand", "conversations", "small_sample", column, f"{column}_low"]].copy()
    frame["high"] = card[f"{column}_high"]
    frame["n"] = card[f"{column}_n"].astype(int)
    frame = frame.rename(columns={column: "value", f"{column}_low": "low"})
    ascending = metric.better == "lower"
    frame = frame.sort_values(["value", "brand"], ascending=[ascending, True], na_position="last")
    frame.insert(0, "rank", range(1, len(frame) + 1))
    verdicts = brand_vs_focus(card, metric, focus)
    frame["vs_focus"] = [
        "focus brand" if brand == focus else verdicts[str(brand)].text for brand in frame["brand"]
    ]
    shown = display_unit(metric, frame["value"])
    for name in ("value", "low", "high"):
        frame[name] = [shown.of(float(v)) for v in frame[name]]
    unit = shown.symbol
    # Beside the resolution rate, the rest of its denominator: unresolved and unknown.
    split = [
        (f"{outcome.capitalize()} (%)", column)
        for outcome, column in OUTCOME_SPLIT
        if column != metric.column and metric.column == "resolution_rate"
    ]
    for label, share in split:
        values = card.loc[frame.index, share]
        frame[label] = [PERCENT.of(float(v)) for v in values]
    return frame.rename(
        columns={
            "rank": "Rank",
            "brand": "Brand",
            "value": f"{metric.label} ({unit})",
            "low": "95% low",
            "high": "95% high",
            "n": "n",
            "conversations": "Conversations",
            "small_sample": "Small sample",
            "vs_focus": "vs focus brand",
        }
    )[
        [
            "Rank",
            "Brand",
            f"{metric.label} ({unit})",
            "95% low",
            "95% high",
            "n",
            *(label for label, _ in split),
            "vs focus brand",
            "Small sample",
        ]
    ]


def interval_table(
    card: pd.DataFrame, metric: Metric, min_sample: int = 30, unit: DisplayUnit | None = None
) -> pd.DataFrame:
    """brand, value, low, high, n in display units: what an interval chart draws.

    Times are in `unit`, by default the one their figures read best in (`time_unit`).
    """
    column = metric.column
    shown = unit or display_unit(metric, card[column])
    return pd.DataFrame(
        {
            "brand": card["brand"].astype(str).to_numpy(),
            "value": [shown.of(float(v)) for v in card[column]],
            "low": [shown.of(float(v)) for v in card[f"{column}_low"]],
            "high": [shown.of(float(v)) for v in card[f"{column}_high"]],
            "n": card[f"{column}_n"].astype(int).to_numpy(),
            "small": (card[f"{column}_n"] < min_sample).to_numpy(dtype=bool),
            # The label beside each dot: a time in its own unit ("45 s", "6.0 days"),
            # which a log axis spanning seconds to days needs.
            "text": [
                f"{shown.of(float(v)):.1f}" if metric.unit == "share" else format_duration(v)
                for v in card[column]
            ],
        }
    )


# -- speed page -------------------------------------------------------------------------------

# Times under this are drawn at it: a log axis has no zero.
LOG_FLOOR_MINUTES = 0.1


def valid_ttfr(conversations: pd.DataFrame) -> pd.DataFrame:
    """Answered conversations with a usable (non-negative) time to first response: their
    brand and time (what the speed figures read; copying every column of half a million
    conversations cost a tenth of a second a page run)."""
    ttfr = conversations["ttfr_seconds"]
    keep = (ttfr.notna() & (ttfr >= 0)).to_numpy(dtype=bool)
    return conversations.loc[keep, ["brand", "ttfr_seconds"]]


def ttfr_ecdf(conversations: pd.DataFrame, points: int = 101) -> pd.DataFrame:
    """Per brand, the TTFR (minutes) below which each share of answers came: an ECDF.

    Sampled at `points` evenly spaced shares, so each brand sends at most that many
    rows to the browser whatever its volume.
    """
    rows = []
    shares = np.linspace(0, 1, points)
    for brand, group in valid_ttfr(conversations).groupby("brand", sort=True):
        minutes = group["ttfr_seconds"].to_numpy(dtype=float) / 60
        values = np.maximum(np.quantile(minutes, shares), LOG_FLOOR_MINUTES)
        rows.append(pd.DataFrame({"brand": brand, "minutes": values, "share": shares}))
        rows[-1]["n"] = len(minutes)
    if not rows:
        return pd.DataFrame(columns=["brand", "minutes", "share", "n"])
    return pd.concat(rows, ignore_index=True)


# Checkpoints of the SLA curve: the promises care teams make, in minutes.
SLA_CHECKPOINTS: tuple[int, ...] = (5, 15, 30, 60, 120, 240, 480, 1440)


def sla_curve(
    conversations: pd.DataFrame, checkpoints: tuple[int, ...] = SLA_CHECKPOINTS
) -> pd.DataFrame:
    """Share of answered conversations answered within t, per brand, with Wilson bounds."""
    rows = []
    for brand, group in valid_ttfr(conversations).groupby("brand", sort=True):
        seconds = group["ttfr_seconds"].to_numpy(dtype=float)
        n = len(seconds)
        for minutes in checkpoints:
            hits = int((seconds <= minutes * 60).sum())
            low, high = wilson_interval(hits, n)
            rows.append(
                {
                    "brand": brand,
                    "minutes": minutes,
                    "share": hits / n * 100,
                    "low": low * 100,
                    "high": high * 100,
                    "n": n,
                }
            )
    return pd.DataFrame(rows, columns=["brand", "minutes", "share", "low", "high", "n"])


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Hour-of-week cells with fewer conversations than this show no speed figure.
MIN_CELL = 5


def hour_of_week(conversations: pd.DataFrame, sla_seconds: float) -> pd.DataFrame:
    """168 cells (day x hour the root was posted): volume, median TTFR and SLA share."""
    hours = (
        conversations["opened_hour_of_week"]
        .astype("Float64")
        .to_numpy(dtype=float, na_value=np.nan)
    )
    ttfr = conversations["ttfr_seconds"].to_numpy(dtype=float)
    frame = pd.DataFrame({"how": hours, "ttfr": ttfr}).dropna(subset=["how"])
    valid = frame["ttfr"] >= 0
    grouped = frame.groupby("how")
    cells = pd.DataFrame(index=pd.RangeIndex(168, name="how"))
    cells["conversations"] = grouped.size().reindex(cells.index, fill_value=0)
    speed = frame[valid].groupby("how")["ttfr"]
    answered = speed.size().reindex(cells.index, fill_value=0)
    median = speed.median().reindex(cells.index) / 60
    within = (
        frame[valid]
        .assign(hit=lambda f: f["ttfr"] <= sla_seconds)
        .groupby("how")["hit"]
        .mean()
        .reindex(cells.index)
        * 100
    )
    enough = answered >= MIN_CELL
    cells["answered"] = answered
    cells["median_minutes"] = median.where(enough)
    cells["sla_percent"] = within.where(enough)
    cells = cells.reset_index()
    cells["day"] = [DAYS[int(h) // 24] for h in cells["how"]]
    cells["hour"] = cells["how"] % 24
    return cells


# -- deflection and resolution page --------------------------------------------------------

CHANNEL_LABELS = {
    "dm": "DM",
    "phone": "Phone",
    "email": "E-mail",
    "web": "Web / form",
    "store": "Store",
    "other_account": "Other account",
}


def channel_mix(conversations: pd.DataFrame) -> pd.DataFrame:
    """Per brand and channel: deflected conversations sent there / deflected conversations.

    A conversation sent to two channels counts for both, so a brand's shares can add
    up to more than 100%.
    """
    chosen = conversations["deflected"].astype(bool).to_numpy(dtype=bool)
    deflected = conversations.loc[chosen, ["brand", "deflection_channels"]]
    rows = []
    for brand, group in deflected.groupby("brand", sort=True):
        n = len(group)
        for channel in CHANNELS:
            hits = int(
                group["deflection_channels"]
                .str.contains(rf"\b{channel}\b", regex=True)
                .fillna(False)
                .sum()
            )
            rows.append(
                {
                    "brand": brand,
                    "channel": CHANNEL_LABELS[channel],
                    "conversations": hits,
                    "share": hits / n * 100,
                    "n": n,
                }
            )
    return pd.DataFrame(rows, columns=["brand", "channel", "conversations", "share", "n"])


OUTCOME_ORDER: tuple[str, ...] = tuple(OUTCOMES)


def outcome_shares(conversations: pd.DataFrame) -> pd.DataFrame:
    """Per brand: the four public outcomes as shares of its care requests."""
    chosen = conversations["care_request"].astype(bool).to_numpy(dtype=bool)
    return _shares(conversations.loc[chosen, ["brand", "outcome"]], ["brand"])


def outcome_after_deflection(conversations: pd.DataFrame) -> pd.DataFrame:
    """Per brand: outcomes of answered care requests by what the brand did.

    `path` is "deflected at first reply", "deflected later" or "answered in public".
    """
    chosen = (
        conversations["care_request"].astype(bool) & conversations["answered"].astype(bool)
    ).to_numpy(dtype=bool)
    care = conversations.loc[chosen, ["brand", "outcome", "first_touch_deflection", "deflected"]]
    path = np.select(
        [care["first_touch_deflection"].astype(bool), care["deflected"].astype(bool)],
        ["deflected at first reply", "deflected later"],
        default="answered in public",
    )
    return _shares(care.assign(path=path), ["brand", "path"])


def wide_shares(
    long: pd.DataFrame,
    keys: list[str],
    column: str,
    order: Sequence[str],
    n_label: str,
    brands: Sequence[str] = (),
) -> pd.DataFrame:
    """A long share table (one row per key and category) as one row per key.

    Columns: the keys, `n_label` (the denominator) and one "<category> (%)" column per
    category in `order`; brands in the `brands` order when given. Fits a projector
    where the long form needs a scrollbar.
    """
    if long.empty:
        return pd.DataFrame(columns=[*keys, n_label, *(f"{c} (%)" for c in order)])
    wide = long.pivot_table(
        index=keys, columns=column, values="share", aggfunc="first", fill_value=0.0
    )
    wide = wide.reindex(columns=[c for c in order if c in wide.columns], fill_value=0.0)
    wide.columns = [f"{c} (%)" for c in wide.columns]
    wide.insert(0, n_label, long.groupby(keys)["n"].first().astype(int))
    wide = wide.reset_index()
    if brands:
        rank = {b: i for i, b in enumerate(brands)}
        wide = wide.sort_values(
            keys, key=lambda s: s.map(rank) if s.name == "brand" else s, kind="stable"
        )
    return wide.rename(columns={k: k.capitalize() for k in keys}).reset_index(drop=True)


def _shares(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    sizes = frame.groupby([*keys, "outcome"], sort=True).size()
    counts = sizes.rename("conversations").reset_index()
    totals = counts.groupby(keys)["conversations"].transform("sum")
    counts["n"] = totals
    counts["share"] = counts["conversations"] / totals * 100
    for column in (*keys, "outcome"):
        counts[column] = counts[column].astype(str)
    return counts[[*keys, "outcome", "conversations", "n", "share"]]


# -- templates page --------------------------------------------------------------------------


def template_table(templates: pd.DataFrame, brand: str) -> pd.DataFrame:
    """One brand's top templates: size, share of its posts and up to three real examples."""
    examples = template_examples(templates, brand)
    own = templates[templates["brand"] == brand].sort_values("posts", ascending=False)
    table = pd.DataFrame(
        {
            "#": range(1, len(own) + 1),
            "Posts": own["posts"].astype(int).to_numpy(),
            "Share of brand posts (%)": (own["share"].astype(float) * 100).to_numpy(),
        }
    )
    for i in range(3):
        table[f"Example {i + 1}"] = [e[i] if len(e) > i else "" for e in examples]
    return table


def template_examples(templates: pd.DataFrame, brand: str) -> list[list[str]]:
    """Every kept example of each of a brand's top templates, largest template first."""
    own = templates[templates["brand"] == brand].sort_values("posts", ascending=False)
    return [
        [str(x) for x in e] if isinstance(e, list | tuple | np.ndarray) else []
        for e in own["examples"]
    ]


# -- trends page ----------------------------------------------------------------------------

Period = Literal["week", "month"]
PERIOD_NOUN: dict[Period, str] = {"week": "Week of", "month": "Month"}


def _next_period(start: pd.Series, period: Period) -> pd.Series:
    if period == "week":
        return start + pd.Timedelta(days=7)
    return start + pd.offsets.MonthBegin(1)


def trend_table(
    periodic: pd.DataFrame,
    metric: Metric,
    min_sample: int = 30,
    *,
    period: Period = "week",
    start: date | None = None,
    end: date | None = None,
    unit: DisplayUnit | None = None,
) -> pd.DataFrame:
    """Per brand and period, one metric in display units, flagged for honest drawing.

    `periodic` is `scorecard(..., period=period)`. Columns: brand, period (naive UTC
    start), value, low, high, n, and:

    - `small_sample`: fewer than `min_sample` cases behind the figure;
    - `partial`: the period sticks out of the days [start, end] the view covers (the
      first and last weeks of a range are usually cut), so its figure is not a whole
      period's;
    - `reliable`: neither of the two; only these set the y-axis and are joined by a
      solid line (`hollow` is its negation, for the chart);
    - `run`: numbers the stretches of consecutive periods of a brand (a period with no
      figure starts a new run), so a line never joins across an empty period;
    - `solid_run`: the same over reliable periods only (-1 on the others).
    """
    column = metric.column
    shown = unit or display_unit(metric, periodic[column])
    starts = pd.to_datetime(periodic["period"])
    if getattr(starts.dt, "tz", None) is not None:
        starts = starts.dt.tz_convert("UTC").dt.tz_localize(None)
    frame = pd.DataFrame(
        {
            "brand": periodic["brand"].astype(str).to_numpy(),
            "period": starts.to_numpy(),
            "value": [shown.of(float(v)) for v in periodic[column]],
            "low": [shown.of(float(v)) for v in periodic[f"{column}_low"]],
            "high": [shown.of(float(v)) for v in periodic[f"{column}_high"]],
            "n": periodic[f"{column}_n"].astype(int).to_numpy(),
        }
    )
    frame = frame.dropna(subset=["value"]).sort_values(["brand", "period"], kind="stable")
    frame = frame.reset_index(drop=True)
    frame["small_sample"] = frame["n"] < min_sample
    following = _next_period(frame["period"], period)
    partial = pd.Series(False, index=frame.index)
    if start is not None:
        partial |= frame["period"] < pd.Timestamp(start)
    if end is not None:
        partial |= following > pd.Timestamp(end) + pd.Timedelta(days=1)
    frame["partial"] = partial.to_numpy(dtype=bool)
    frame["reliable"] = ~(frame["small_sample"] | frame["partial"])
    frame["hollow"] = ~frame["reliable"]
    same_brand = frame["brand"].eq(frame["brand"].shift())
    adjacent = same_brand & frame["period"].eq(following.shift())
    frame["run"] = (~adjacent).cumsum().astype(int)
    joined = adjacent & frame["reliable"] & frame["reliable"].shift(fill_value=False)
    solid = (~joined).cumsum().astype(int)
    frame["solid_run"] = solid.where(frame["reliable"], -1).astype(int)
    return frame


def trend_domain(
    trend: pd.DataFrame, unit: DisplayUnit, log: bool = False
) -> tuple[float, float] | None:
    """The y range of the reliable periods (figures and intervals), a little padded.

    A week with one conversation has a 0-100% interval and a figure of 0 or 100: it
    must not set the axis for every other week. None when no period is reliable. On a
    log axis (`log`) the range stays above zero and is padded by a factor.
    """
    reliable = trend[trend["reliable"]]
    if reliable.empty:
        return None
    values = reliable[["value", "low", "high"]].to_numpy(dtype=float).ravel()
    if log:
        positive = values[np.isfinite(values) & (values > 0)]
        if not len(positive):
            return None
        return (float(positive.min()) / 1.25, float(positive.max()) * 1.25)
    low = float(np.nanmin(values))
    high = float(np.nanmax(values))
    pad = max((high - low) * 0.08, 1e-9)
    low, high = max(low - pad, 0.0), high + pad
    if unit == PERCENT:
        high = min(high, 100.0)
    return (low, high)


def trend_rows(
    trend: pd.DataFrame, metric: Metric, unit: DisplayUnit | None = None
) -> pd.DataFrame:
    """The periodic figures as a table a person reads: dates as dates, named columns."""
    shown = unit or (PERCENT if metric.unit == "share" else MINUTES)
    return pd.DataFrame(
        {
            "Brand": trend["brand"].to_numpy(),
            "Period starting": pd.to_datetime(trend["period"]).dt.strftime("%Y-%m-%d").to_numpy(),
            unit_title(metric, shown): trend["value"].to_numpy(),
            "95% low": trend["low"].to_numpy(),
            "95% high": trend["high"].to_numpy(),
            "n": trend["n"].to_numpy(),
            "Small sample": trend["small_sample"].to_numpy(),
            "Partial period": trend["partial"].to_numpy(),
        }
    )


def days_between(conversations: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    """Conversations opened on the days first..last (UTC), both included."""
    return conversations[view_mask(conversations, start=first, end=last)]


def before_after(
    before: pd.DataFrame, after: pd.DataFrame, metrics: Sequence[Metric] = METRICS
) -> pd.DataFrame:
    """One brand's figures in two periods and whether each metric really moved.

    `before` and `after` are one-row scorecards (`scorecard` of one brand's
    conversations in each date range). Every metric gets the change after - before, its
    95% interval and the verdict of `carebench.benchmark.compare.compare`. Times are in
    the unit the two figures read best in (named in `Unit`), rates in percent.
    """
    rows = []
    first = before.iloc[0] if len(before) else None
    second = after.iloc[0] if len(after) else None
    for metric in metrics:
        old, new = estimate_of(first, metric.column), estimate_of(second, metric.column)
        result = compare(new, old, metric.better)
        unit = display_unit(metric, [old.value, new.value])
        rows.append(
            {
                # What a manager reads first, then the detail.
                "Metric": metric.label,
                "Verdict": result.verdict,
                "Unit": unit.symbol,
                "Before": unit.of(old.value),
                "After": unit.of(new.value),
                "Change": unit.of(result.difference),
                "Change 95% low": unit.of(result.low),
                "Change 95% high": unit.of(result.high),
                "n before": _count(first, metric.column),
                "n after": _count(second, metric.column),
                "Before 95% low": unit.of(old.low),
                "Before 95% high": unit.of(old.high),
                "After 95% low": unit.of(new.low),
                "After 95% high": unit.of(new.high),
                "Better when": metric.better,
            }
        )
    return pd.DataFrame(rows)


def _count(row: pd.Series | None, column: str) -> int:
    return 0 if row is None else int(row[f"{column}_n"])


def verdict_sentence(row: pd.Series | dict) -> str:
    """A before/after row in plain words, e.g. "Deflected: **worse**, and the change is
    real: 20.1 → 26.3%, change +6.2 pp (95% interval +1.0 to +11.3 pp; lower is better)"."""
    if row["Verdict"] == "not enough data":
        return f"{row['Metric']}: not enough data in one of the two ranges to compare."
    word = {
        "better": "**better**, and the change is real",
        "worse": "**worse**, and the change is real",
        "within noise": "**no real change** (within noise)",
    }[row["Verdict"]]
    level = "%" if row["Unit"] == "%" else f" {row['Unit']}"
    change = "pp" if row["Unit"] == "%" else row["Unit"]
    return (
        f"{row['Metric']}: {word}: {row['Before']:.1f} → {row['After']:.1f}{level}, "
        f"change {row['Change']:+.1f} {change} (95% interval {row['Change 95% low']:+.1f} "
        f"to {row['Change 95% high']:+.1f} {change}; {row['Better when']} is better)"
    )


# -- every metric, real or noise -------------------------------------------------------------


def focus_vs_peers(
    card: pd.DataFrame,
    focus: str,
    competitors: tuple[str, ...],
    metrics: Sequence[Metric] = METRICS,
) -> pd.DataFrame:
    """Every metric: the focus brand, the peers' median and whether the gap is real.

    The same comparison as the KPI tiles (`kpi_tiles`), for every metric. Numbers are in
    the row's `Unit` (percent for rates, pp for their differences).
    """
    rows = []
    for tile in kpi_tiles(card, focus, competitors, tuple(metrics)):
        unit = display_unit(tile.metric, [tile.value, tile.peer_median])
        rows.append(
            {
                "Metric": tile.metric.label,
                "Verdict": tile.comparison.verdict,
                "Unit": unit.symbol,
                "Focus brand": unit.of(tile.value),
                "Peer median": unit.of(tile.peer_median),
                "Difference": unit.of(tile.comparison.difference),
                "Difference 95% low": unit.of(tile.comparison.low),
                "Difference 95% high": unit.of(tile.comparison.high),
                "n": tile.n,
                "95% low": unit.of(tile.low),
                "95% high": unit.of(tile.high),
                "Better when": tile.metric.better,
            }
        )
    return pd.DataFrame(rows)


def verdict_matrix(
    card: pd.DataFrame, focus: str | None, metrics: Sequence[Metric] = METRICS
) -> pd.DataFrame:
    """Brand x metric: is each brand really better or worse than the focus brand?"""
    brands = [str(b) for b in card["brand"] if b != focus]
    table: dict[str, list[str]] = {"Brand": brands}
    for metric in metrics:
        verdicts = brand_vs_focus(card, metric, focus)
        table[metric.label] = [verdicts[b].verdict for b in brands]
    return pd.DataFrame(table)


# -- downloads ---------------------------------------------------------------------------------

# Every CSV the dashboard offers writes rates as percent and times in a unit named in
# the column header, rounded to 0.1 (see the README's "Downloads"): never a fraction
# beside a percent, never 51.9607843137255.
CSV_DECIMALS = 1


def scorecard_export(card: pd.DataFrame) -> pd.DataFrame:
    """The full scorecard for a CSV download: rates in percent (`*_pct`), times in
    minutes (`*_minutes`), both with their interval, rounded; counts stay integers."""
    out: dict[str, pd.Series] = {}
    rates = {m.column for m in METRICS if m.unit == "share"} | {
        c for c in card.columns if c.endswith(("_rate", "_share", "_ratio"))
    }
    times = {c for c in card.columns if c.endswith("_seconds")}
    for column in card.columns:
        base = column.removesuffix("_low").removesuffix("_high")
        suffix = column[len(base) :]
        if base in rates and not column.endswith("_n"):
            out[f"{base}_pct{suffix}"] = (card[column].astype(float) * 100).round(CSV_DECIMALS)
        elif base in times and not column.endswith("_n"):
            name = base.removesuffix("_seconds")
            out[f"{name}_minutes{suffix}"] = (card[column].astype(float) / 60).round(CSV_DECIMALS)
        else:
            out[column] = card[column]
    # One frame from all columns at once (inserting ~80 columns one by one fragments it).
    return pd.DataFrame(out, index=card.index)


def rounded(df: pd.DataFrame, decimals: int = CSV_DECIMALS) -> pd.DataFrame:
    """Float columns rounded for a download (the screen keeps its own formatting)."""
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    if not floats:
        return df
    return df.assign(**{str(c): df[c].round(decimals) for c in floats})


# -- data page ---------------------------------------------------------------------------------

ISSUE_MEANINGS = {
    "posts": "Posts in the store.",
    "conversations": "Customer-started conversations rebuilt from them.",
    "replies_with_missing_parent": (
        "Orphans: replies whose parent post is not in the data; each starts its own tree."
    ),
    "posts_on_reply_cycles": "Posts on a reply cycle (A answers B answers A): left out.",
    "brand_initiated_trees": (
        "Trees started by a brand post (broadcasts, marketing): kept, not scored as care."
    ),
    "clock_skew_conversations": (
        "Clock skew: the first reply is older than the post it answers; left out of speed."
    ),
    "unassigned_conversations": "Conversations no brand answered or was mentioned in.",
    "posts_out_of_range": (
        "Posts whose time is outside the valid years (1990-2100, or CAREBENCH_VALID_YEARS), "
        "e.g. year 0 from a broken export: left out. Remove them with `carebench delete "
        "--out-of-range`."
    ),
    "posts_with_derived_time": (
        "Posts whose time was not in the source and was derived from the post id (a "
        "Twitter snowflake), e.g. the last brand turn of IBM customer-care dialogs."
    ),
}


def sources_table(imports: pd.DataFrame) -> pd.DataFrame:
    """The import log in the words of the CLI summary, newest first."""
    if imports.empty:
        return pd.DataFrame()
    finished = pd.to_datetime(imports["finished_at"], utc=True)
    return pd.DataFrame(
        {
            "#": imports["import_id"].astype(int).to_numpy(),
            "File": [str(s).replace("\\", "/").rsplit("/", 1)[-1] for s in imports["source"]],
            "Format": imports["collector"].astype(str).to_numpy(),
            "Posts read": imports["records_read"].astype(int).to_numpy(),
            "New": imports["posts_new"].astype(int).to_numpy(),
            "Updated": imports["posts_updated"].astype(int).to_numpy(),
            "Unchanged": imports["posts_unchanged"].astype(int).to_numpy(),
            "Duplicates": imports["duplicates_in_source"].astype(int).to_numpy(),
            "Rejected": imports["rejected"].astype(int).to_numpy(),
            "Imported (UTC)": finished.dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
        }
    )


def issue_table(issues: dict[str, int], rejected: int) -> pd.DataFrame:
    """The data-quality counts with what each one means, rejected rows last."""
    rows = [
        {"Check": name.replace("_", " "), "Count": int(issues[name]), "Meaning": meaning}
        for name, meaning in ISSUE_MEANINGS.items()
        if name in issues
    ]
    rows += [
        {"Check": name.replace("_", " "), "Count": int(value), "Meaning": ""}
        for name, value in issues.items()
        if name not in ISSUE_MEANINGS
    ]
    rows.append(
        {
            "Check": "rejected rows",
            "Count": int(rejected),
            "Meaning": "Source rows imports could not read (file, line and reason below).",
        }
    )
    return pd.DataFrame(rows)
