"""From a figure to its threads: which conversations are behind one number of a page.

A KPI tile, a ranking row or a chart mark (a brand's bar, a heatmap cell, a week of a
trend) names a figure: a scorecard metric of one brand, maybe in one period or one
hour of the week. `Drill` is that name, `to_query` / `parse_query` carry it in the
Conversations page's address, and `drill_conversations` picks the conversations the
figure is computed over, with the predicates the scorecard itself uses
(`scorecard.figure_members`): the list holds exactly the figure's n, never an
approximation of it.

Pure pandas, no streamlit; the links and clickable marks are in `drill_widgets`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from carebench.benchmark.scorecard import figure_members, period_start
from carebench.benchmark.scoring import OUTCOMES
from carebench.benchmark.settings import Settings

Part = Literal["n", "hits"]
Period = Literal["week", "month"]
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# An outcome's share of care requests (the Deflection page's outcome bars).
OUTCOME_PREFIX = "outcome:"

# URL parameters of a drill-down, beside the sidebar's (see `filters.FILTER_PARAMS`).
DRILL_PARAMS: tuple[str, ...] = (
    "drill",
    "drill_brand",
    "drill_period",
    "drill_cell",
    "drill_part",
)

# What each figure is over and what it counts, in a reader's words (n, hits).
WORDS: dict[str, tuple[str, str]] = {
    "conversations": ("conversations", ""),
    "ttfr_median_seconds": ("answered conversations (median first response)", ""),
    "ttfr_p90_seconds": ("answered conversations (P90 first response)", ""),
    "reply_time_median_seconds": ("conversations with a timed reply", ""),
    "time_to_resolution_median_seconds": ("conversations resolved in public", ""),
    "sla_share": ("answered conversations", "answered within the SLA"),
    "deflection_rate": ("answered conversations", "deflected"),
    "first_touch_deflection_rate": ("answered conversations", "deflected at first reply"),
    "resolution_rate": ("answered care requests", "resolved in public"),
    "unresolved_share": ("answered care requests", "unresolved"),
    "unknown_share": ("answered care requests", "with no public outcome"),
    "empathy_rate": ("answered conversations", "with an empathic first reply"),
    "hedging_rate": ("answered conversations", "with hedging"),
    "templated_ratio": ("conversations with a brand reply", "with a templated reply"),
    "personal_touch_rate": ("conversations with a brand reply", "with a personal reply"),
    "repeat_contact_rate": ("conversations of known customers", "whose customer came back"),
    "agent_continuity_rate": ("conversations with two signed replies", "kept by one agent"),
    "follow_up_rate": ("deflected conversations", "followed up in public"),
    "response_rate": ("conversations", "answered"),
    "care_request_share": ("conversations", "care requests"),
}
# Figures over brand posts: the drill-down lists the conversations holding them.
POST_FIGURES = ("templated_ratio", "personal_touch_rate")


@dataclass(frozen=True)
class Drill:
    """One figure: `metric` of `brand`, optionally in one period or hour-of-week cell.

    ``metric`` is a scorecard column (``deflection_rate``, ``ttfr_median_seconds``,
    ``channel_dm_share``...), ``conversations`` for a plain count, or
    ``outcome:<outcome>`` for an outcome's share of care requests. ``part`` "n" lists
    every conversation the figure is computed over, "hits" only those it counts (the
    deflected ones of a deflection rate).
    """

    metric: str
    brand: str
    period: Period | None = None
    start: date | None = None
    # Hour of the week the conversation opened (0 = Monday 00:00, brand time zone).
    cell: int | None = None
    part: Part = "n"

    @property
    def label(self) -> str:
        """The figure in words: "Deflected · Acme · week of 30 Oct 2017"."""
        parts = [metric_label(self.metric), self.brand]
        if self.period and self.start:
            parts.append(
                f"week of {self.start:%d %b %Y}" if self.period == "week" else f"{self.start:%B %Y}"
            )
        if self.cell is not None:
            parts.append(f"{DAYS[self.cell // 24]} {self.cell % 24:02d}:00-{self.cell % 24:02d}:59")
        return " · ".join(parts)


def metric_label(metric: str) -> str:
    """A figure's name as the pages show it."""
    # Imported here: aggregates is the pages' formatting module, heavier than needed.
    from carebench.dashboard.aggregates import METRIC_BY_COLUMN

    if metric in METRIC_BY_COLUMN:
        return METRIC_BY_COLUMN[metric].label
    if metric.startswith(OUTCOME_PREFIX):
        return f"Outcome {metric.removeprefix(OUTCOME_PREFIX)}"
    if metric.startswith("channel_") and metric.endswith("_share"):
        return f"Deflected to {metric.removeprefix('channel_').removesuffix('_share')}"
    if metric == "conversations":
        return "Conversations"
    return metric.replace("_", " ").capitalize()


def words(metric: str) -> tuple[str, str]:
    """(what the figure is over, what it counts) in a reader's words."""
    if metric in WORDS:
        return WORDS[metric]
    if metric.startswith(OUTCOME_PREFIX):
        return "care requests", metric.removeprefix(OUTCOME_PREFIX)
    if metric.startswith("channel_") and metric.endswith("_share"):
        channel = metric.removeprefix("channel_").removesuffix("_share")
        return "deflected conversations", f"sent to {channel}"
    return "conversations", "counted"


def to_query(drill: Drill) -> dict[str, str]:
    """The URL parameters of a drill-down (added to the sidebar's own)."""
    query = {"drill": drill.metric, "drill_brand": drill.brand}
    if drill.period and drill.start:
        query["drill_period"] = f"{drill.period}:{drill.start.isoformat()}"
    if drill.cell is not None:
        query["drill_cell"] = str(drill.cell)
    if drill.part != "n":
        query["drill_part"] = drill.part
    return query


def parse_query(params: Mapping[str, str | Sequence[str]]) -> tuple[Drill | None, str | None]:
    """The drill-down an address names, or None; and what was wrong with it, if anything.

    A broken parameter (a hand-edited link) drops the drill-down with a message
    instead of failing the page.
    """

    def one(name: str) -> str:
        value = params.get(name)
        if isinstance(value, list | tuple):
            value = value[-1] if value else ""
        return str(value or "").strip()

    metric, brand = one("drill"), one("drill_brand")
    if not metric:
        return None, None
    if not brand:
        return None, "the drill-down link names no brand (drill_brand)"
    period: Period | None = None
    start: date | None = None
    if raw := one("drill_period"):
        kind, _, day = raw.partition(":")
        try:
            start = date.fromisoformat(day)
        except ValueError:
            return None, f"drill_period={raw!r} is not week:YYYY-MM-DD or month:YYYY-MM-DD"
        if kind not in ("week", "month"):
            return None, f"drill_period={raw!r} is not week:YYYY-MM-DD or month:YYYY-MM-DD"
        period = "week" if kind == "week" else "month"
    cell: int | None = None
    if raw := one("drill_cell"):
        if not raw.isdigit() or int(raw) >= 168:
            return None, f"drill_cell={raw!r} is not an hour of the week (0-167)"
        cell = int(raw)
    part: Part = "hits" if one("drill_part") == "hits" else "n"
    drill = Drill(metric, brand, period, start, cell, part)
    if not known_metric(metric):
        return None, f"drill={metric!r} is not a figure of the dashboard"
    return drill, None


def known_metric(metric: str) -> bool:
    """Whether `figure_members` (or the outcome shares) knows this figure."""
    if metric.startswith(OUTCOME_PREFIX):
        return metric.removeprefix(OUTCOME_PREFIX) in OUTCOMES
    # Every column a figure's predicate reads, empty: the predicates run on no rows.
    empty = pd.DataFrame(
        {
            column: pd.Series(dtype=dtype)
            for column, dtype in (
                ("answered", bool),
                ("care_request", bool),
                ("deflected", bool),
                ("first_touch_deflection", bool),
                ("empathy_first_reply", bool),
                ("hedging", bool),
                ("agent_continuity", "boolean"),
                ("repeat_contact", "boolean"),
                ("follow_up", "boolean"),
                ("brand_posts", float),
                ("templated_posts", float),
                ("personal_posts", float),
                ("ttfr_seconds", float),
                ("reply_seconds_median", float),
                ("time_to_resolution_seconds", float),
                ("outcome", "string"),
                ("deflection_channels", "string"),
            )
        }
    )
    try:
        _members(empty, metric, Settings())
    except KeyError:
        return False
    return True
    return True


def _members(
    conversations: pd.DataFrame, metric: str, settings: Settings
) -> tuple[np.ndarray, np.ndarray | None]:
    if metric.startswith(OUTCOME_PREFIX):
        care = conversations["care_request"].astype("boolean").fillna(False)
        among = care.to_numpy(dtype=bool)
        hit = (conversations["outcome"] == metric.removeprefix(OUTCOME_PREFIX)).to_numpy(bool)
        return among, among & hit
    return figure_members(conversations, metric, settings)


@dataclass(frozen=True)
class Drilled:
    """The conversations behind a figure, and how to say what they are."""

    drill: Drill
    conversations: pd.DataFrame
    # The figure's n (conversations, or brand posts for post figures) and its hits.
    n: int
    hits: int | None
    # For post figures: how many brand posts the listed conversations hold.
    posts: int | None = None

    @property
    def summary(self) -> str:
        """E.g. "the 412 answered conversations behind the figure (57 deflected)"."""
        over, counted = words(self.drill.metric)
        listed = len(self.conversations)
        if self.drill.part == "hits" and counted:
            text = f"the {listed:,} {over} {counted}"
        else:
            text = f"the {listed:,} {over} behind the figure"
            if self.hits is not None and counted:
                text += f" ({self.hits:,} {counted})"
        if self.posts is not None:
            text += f"; the figure is over their {self.posts:,} brand posts"
        return text


def _narrowed(conversations: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """The rows `keep` says (missing: no); the frame itself when that is every row (a
    tile's drill is over its own brand's rows: copying them all again cost a tenth of a
    second per tile on a big store)."""
    rows = keep.fillna(False).to_numpy(dtype=bool)
    return conversations if rows.all() else conversations[rows]


def _drill_rows(
    conversations: pd.DataFrame, drill: Drill, settings: Settings
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, np.ndarray]:
    """The brand's (period's, cell's) conversations, which of them the figure is over,
    which it counts, and which the drill lists."""
    # Narrowed step by step: the brand first, so the rest looks at its rows only.
    subset = _narrowed(conversations, conversations["brand"] == drill.brand)
    if drill.period and drill.start is not None:
        starts = period_start(subset["opened_at"], drill.period)
        subset = _narrowed(subset, starts == pd.Timestamp(drill.start, tz="UTC"))
    if drill.cell is not None:
        hours = pd.to_numeric(subset["opened_hour_of_week"], errors="coerce")
        subset = _narrowed(subset, hours == drill.cell)
    among, hits = _members(subset, drill.metric, settings)
    chosen = among & hits if drill.part == "hits" and hits is not None else among
    return subset, among, hits, chosen


def drill_size(conversations: pd.DataFrame, drill: Drill, settings: Settings) -> int:
    """How many conversations `drill_conversations` lists, without copying them (a
    tile's link says it: six tiles copying their brand's rows cost half a second on
    2.8M posts)."""
    return int(_drill_rows(conversations, drill, settings)[3].sum())


def drill_conversations(conversations: pd.DataFrame, drill: Drill, settings: Settings) -> Drilled:
    """The conversations of `conversations` (the sidebar's view) behind the figure.

    Parameters
    ----------
    conversations : pd.DataFrame
        The view's conversations, filtered as the page that showed the figure had them.
    drill : Drill
        The figure.
    settings : Settings
        The view's settings (the SLA of an SLA share).
    """
    subset, among, hits, chosen = _drill_rows(conversations, drill, settings)
    listed = subset[chosen]
    posts = None
    n = int(among.sum())
    if drill.metric in POST_FIGURES:
        posts = int(pd.to_numeric(subset.loc[among, "brand_posts"], errors="coerce").sum())
        n = posts
    return Drilled(
        drill=drill,
        conversations=listed,
        n=n,
        hits=None if hits is None else int(hits.sum()),
        posts=posts,
    )
