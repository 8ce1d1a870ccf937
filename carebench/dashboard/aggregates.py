"""Scored conversations -> the small tables the pages show and chart.

Pure pandas, no streamlit: every function here is unit-testable and returns an
aggregate (a row per brand, per brand and channel, per hour...), never the raw rows,
so the browser only ever receives what it draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from carebench.benchmark.intervals import wilson_interval
from carebench.benchmark.scoring import OUTCOMES
from carebench.benchmark.text_signals import CHANNELS

Unit = Literal["minutes", "share"]
Better = Literal["lower", "higher"]


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


def display_value(value: float, unit: Unit) -> float:
    """Seconds -> minutes, fractions -> percent: the numbers a table shows."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    return value / 60 if unit == "minutes" else value * 100


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

    @property
    def text(self) -> str:
        return format_value(self.value, self.metric.unit)

    @property
    def delta_text(self) -> str | None:
        return format_delta(self.delta, self.metric.unit)

    @property
    def delta_color(self) -> Literal["normal", "inverse"]:
        # Streamlit paints a positive delta green; for "lower is better" that is wrong.
        return "inverse" if self.metric.better == "lower" else "normal"


def kpi_tiles(
    card: pd.DataFrame, focus: str, competitors: tuple[str, ...], metrics=TILE_METRICS
) -> list[Tile]:
    """The focus brand's figures with deltas against the competitors' median."""
    by_brand = card.set_index("brand")
    peers = by_brand.loc[[b for b in competitors if b in by_brand.index]]
    has_focus = focus in by_brand.index

    def figure(column: str) -> float:
        return float(by_brand[column].loc[focus]) if has_focus else math.nan

    tiles = []
    for metric in metrics:
        column = metric.column
        value = figure(column)
        peer = float(peers[column].median()) if len(peers) else math.nan
        tiles.append(
            Tile(
                metric=metric,
                value=value,
                low=figure(f"{column}_low"),
                high=figure(f"{column}_high"),
                n=int(figure(f"{column}_n")) if has_focus else 0,
                peer_median=peer,
                delta=value - peer,
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


def verdict(low: float, high: float, focus_low: float, focus_high: float, better: Better) -> str:
    """Is a brand really ahead of or behind the focus brand? Judged by interval overlap.

    Non-overlapping 95% intervals are a conservative sign of a real difference;
    overlapping ones mean the data cannot tell the two apart (which is not proof
    that they are equal).
    """
    if any(math.isnan(x) for x in (low, high, focus_low, focus_high)):
        return "not enough data"
    if high < focus_low:
        return "better (real)" if better == "lower" else "worse (real)"
    if low > focus_high:
        return "worse (real)" if better == "lower" else "better (real)"
    return "overlaps: could be noise"


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
    focus_row = frame[frame["brand"] == focus]
    f_low = float(focus_row["low"].iloc[0]) if len(focus_row) else math.nan
    f_high = float(focus_row["high"].iloc[0]) if len(focus_row) else math.nan
    frame["vs_focus"] = [
        "focus brand"
        if brand == focus
        else verdict(float(low), float(high), f_low, f_high, metric.better)
        for brand, low, high in zip(frame["brand"], frame["low"], frame["high"], strict=True)
    ]
    for name in ("value", "low", "high"):
        frame[name] = [display_value(float(v), metric.unit) for v in frame[name]]
    unit = "min" if metric.unit == "minutes" else "%"
    # Beside the resolution rate, the rest of its denominator: unresolved and unknown.
    split = [
        (f"{outcome.capitalize()} (%)", column)
        for outcome, column in OUTCOME_SPLIT
        if column != metric.column and metric.column == "resolution_rate"
    ]
    for label, share in split:
        values = card.loc[frame.index, share]
        frame[label] = [display_value(float(v), "share") for v in values]
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


def interval_table(card: pd.DataFrame, metric: Metric, min_sample: int = 30) -> pd.DataFrame:
    """brand, value, low, high, n in display units: what an interval chart draws."""
    column = metric.column
    return pd.DataFrame(
        {
            "brand": card["brand"].astype(str).to_numpy(),
            "value": [display_value(float(v), metric.unit) for v in card[column]],
            "low": [display_value(float(v), metric.unit) for v in card[f"{column}_low"]],
            "high": [display_value(float(v), metric.unit) for v in card[f"{column}_high"]],
            "n": card[f"{column}_n"].astype(int).to_numpy(),
            "small": (card[f"{column}_n"] < min_sample).to_numpy(dtype=bool),
        }
    )


# -- speed page -------------------------------------------------------------------------------

# Times under this are drawn at it: a log axis has no zero.
LOG_FLOOR_MINUTES = 0.1


def valid_ttfr(conversations: pd.DataFrame) -> pd.DataFrame:
    """Answered conversations with a usable (non-negative) time to first response."""
    ttfr = conversations["ttfr_seconds"]
    return conversations[ttfr.notna() & (ttfr >= 0)]


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
    deflected = conversations[conversations["deflected"].astype(bool)]
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
    care = conversations[conversations["care_request"].astype(bool)]
    return _shares(care, ["brand"])


def outcome_after_deflection(conversations: pd.DataFrame) -> pd.DataFrame:
    """Per brand: outcomes of answered care requests by what the brand did.

    `path` is "deflected at first reply", "deflected later" or "answered in public".
    """
    care = conversations[
        conversations["care_request"].astype(bool) & conversations["answered"].astype(bool)
    ]
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


def trend_rows(trend: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    """The weekly figures as a table a person reads: dates as dates, named columns."""
    unit = "min" if metric.unit == "minutes" else "%"
    return pd.DataFrame(
        {
            "Brand": trend["brand"].to_numpy(),
            "Week of": pd.to_datetime(trend["week"]).dt.strftime("%Y-%m-%d").to_numpy(),
            f"{metric.label} ({unit})": trend["value"].to_numpy(),
            "95% low": trend["low"].to_numpy(),
            "95% high": trend["high"].to_numpy(),
            "n": trend["n"].to_numpy(),
            "Small sample": trend["small_sample"].to_numpy(),
        }
    )


def trend_table(weekly: pd.DataFrame, metric: Metric, min_sample: int = 30) -> pd.DataFrame:
    """Weekly figures of one metric per brand in display units; small weeks flagged."""
    column = metric.column
    frame = pd.DataFrame(
        {
            "brand": weekly["brand"].astype(str).to_numpy(),
            "week": pd.to_datetime(weekly["period"]).dt.tz_localize(None).to_numpy(),
            "value": [display_value(float(v), metric.unit) for v in weekly[column]],
            "low": [display_value(float(v), metric.unit) for v in weekly[f"{column}_low"]],
            "high": [display_value(float(v), metric.unit) for v in weekly[f"{column}_high"]],
            "n": weekly[f"{column}_n"].astype(int).to_numpy(),
        }
    )
    frame["small_sample"] = frame["n"] < min_sample
    return frame.dropna(subset=["value"])


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
            "Read": imports["records_read"].astype(int).to_numpy(),
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
