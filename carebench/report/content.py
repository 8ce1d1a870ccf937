"""The workshop report as data: every page's words, tables and charts, no rendering.

`build_report` turns an analysis (already cut to the brands and days of the report)
into a `Report`: a title page, an executive summary, the scorecard, one page per area
(speed, deflection, resolution, templates, trends, recurring issues), example threads
and the method. The PDF (`report.pdf`) and PowerPoint (`report.pptx`) renderers draw
the same `Report`, so both formats say the same thing, and tests read it directly.

Every "better", "worse", "fastest" or "highest" in the report comes from
`carebench.benchmark.compare.compare`, the verdict the dashboard's tiles use: a
difference whose 95% interval holds zero is said to be within noise, never ranked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, cast

import pandas as pd

import carebench.dashboard.aggregates as agg
import carebench.dashboard.charts as ch
from carebench.benchmark.anonymise import anonymise_analysis
from carebench.benchmark.compare import UNKNOWN, Comparison, Verdict, compare
from carebench.benchmark.quality import bulk_span
from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.scoring import Analysis
from carebench.benchmark.settings import Settings
from carebench.benchmark.topics import OTHER, topic_table
from carebench.benchmark.view import view_mask
from carebench.dashboard.accuracy import ALL_SOURCES_LABEL, accuracy_table, load_published
from carebench.errors import CareBenchError
from carebench.report.deck import DeckError, DeckThread, choose_threads

ChartKind = Literal["bar", "line", "xy", "stacked"]
PageKind = Literal["title", "summary", "scorecard", "area", "threads", "method"]

# Threads of the focus brand shown when none is pinned: its best and worst.
GALLERY_GOOD = 2
GALLERY_BAD = 2
# Rows of the top-templates and topics tables: what fits a slide at 12 pt.
TOP_TEMPLATES = 6
TOP_TOPICS = 6
EXAMPLE_CHARS = 150
# Columns the report's figures read; the texts stay out (smaller, nothing to anonymise).
_TEXT_COLUMNS = ("root_text",)


class ReportError(CareBenchError):
    """The report cannot be built as asked (no conversation, an unknown brand...)."""


# -- the data model ----------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One series of a native chart: a value per category (or per `x`, for XY charts)."""

    name: str
    values: tuple[float | None, ...]
    colour: str
    focus: bool = False
    x: tuple[float, ...] = ()
    # Bar charts of one series per brand: each bar in its brand's colour.
    point_colours: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chart:
    """A chart twice: the dashboard's Altair spec (PDF) and its series (PowerPoint)."""

    key: str
    title: str
    notes: tuple[str, ...]
    kind: ChartKind
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    value_title: str
    category_title: str
    spec: Any  # carebench.dashboard.charts.AnyChart
    log_x: bool = False
    value_max: float | None = None


@dataclass(frozen=True)
class Table:
    """A native table: header, text cells, and the focus brand's row to stress."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    bold_rows: tuple[int, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Claim:
    """A comparison a summary sentence makes: focus vs `other` on `metric`, and its verdict."""

    metric: str
    other: str
    verdict: Verdict


@dataclass(frozen=True)
class Sentence:
    """A summary sentence and the comparisons it states (for tests and reviewers)."""

    text: str
    claims: tuple[Claim, ...] = ()


@dataclass(frozen=True)
class Page:
    """One page of the report (one or more slides)."""

    kind: PageKind
    title: str
    lines: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    thread: DeckThread | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportOptions:
    """What the report is about and where its data came from."""

    focus: str
    competitors: tuple[str, ...]
    sla_minutes: float = 60.0
    start: date | None = None
    end: date | None = None
    anonymise: bool = False
    # The analysis given is anonymised already (the dashboard's view with the switch on).
    anonymised_input: bool = False
    # The store's pins (`Store.pins()`): show these threads instead of the gallery.
    pins: pd.DataFrame | None = None
    store_name: str = ""
    # The import log's file names (never their folders) and formats.
    sources: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    # Every brand of the store, largest first: fixes each brand's colour, as on screen.
    all_brands: tuple[str, ...] = ()
    min_sample: int = 30
    # Only this platform's conversations (the dashboard's platform filter).
    platform: str | None = None
    # Conversations of these brands outside the default period (`bulk_period`).
    left_out: int = 0
    generated: datetime = field(default_factory=lambda: datetime.now(UTC))
    is_demo: bool = False

    @property
    def brands(self) -> tuple[str, ...]:
        return (self.focus, *(b for b in self.competitors if b != self.focus))

    @property
    def sla_seconds(self) -> float:
        return float(self.sla_minutes) * 60


@dataclass(frozen=True)
class Report:
    """Everything both renderers draw, in page order."""

    title: str
    pages: tuple[Page, ...]
    summary: tuple[Sentence, ...]
    scorecard: pd.DataFrame
    options: ReportOptions

    def page(self, kind: PageKind) -> list[Page]:
        return [p for p in self.pages if p.kind == kind]

    @property
    def charts(self) -> list[Chart]:
        return [c for p in self.pages for c in p.charts]

    @property
    def tables(self) -> list[Table]:
        return [t for p in self.pages for t in p.tables]


# -- selecting the data ----------------------------------------------------------------


def select_analysis(
    analysis: Analysis, brands: Sequence[str], start: date | None, end: date | None
) -> Analysis:
    """The conversations (and their turns, templates) of `brands` opened on start..end."""
    conversations = analysis.conversations
    chosen = conversations[view_mask(conversations, brands=brands, start=start, end=end)]
    ids = chosen["conversation_id"].astype(str).to_numpy()
    turns = analysis.turns
    turns = turns[turns["conversation_id"].astype(str).isin(ids).to_numpy(dtype=bool)]
    templates = analysis.templates[analysis.templates["brand"].isin(list(brands))]
    return Analysis(chosen, turns, templates, analysis.issues)


def brands_by_size(conversations: pd.DataFrame) -> tuple[str, ...]:
    """Every brand, largest first (ties by name): the order the dashboard deals colours in."""
    counts = conversations["brand"].dropna().value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return tuple(str(b) for b, _ in ordered)


# The file `carebench demo` imports: a store of only such imports holds generated data.
DEMO_SOURCE_NAME = "demo_twcs.csv"


def import_sources(imports: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """The import log's file names (never their folders), formats, and whether it is demo data."""
    if imports.empty:
        return (), (), False
    names = tuple(sorted({str(s).replace("\\", "/").rsplit("/", 1)[-1] for s in imports["source"]}))
    formats = tuple(sorted({str(c) for c in imports["collector"]}))
    return names, formats, all(name == DEMO_SOURCE_NAME for name in names)


def bulk_period(opened: pd.Series) -> tuple[date, date] | None:
    """The first and last day of the bulk of the data (None when there is no date).

    The default period of a report: the dashboard's default date range, by the same rule
    (`benchmark.quality.bulk_span`), so a few stray posts months or years away (a 2016
    reply in a 2017 sample) do not stretch the period and the monthly trends over empty
    months.
    """
    span = bulk_span(opened)
    return None if span is None else (span[0].date(), span[1].date())


# -- formatting ------------------------------------------------------------------------


def _figure(metric: agg.Metric, value: float) -> str:
    return agg.format_value(value, metric.unit)


def figure_with_interval(metric: agg.Metric, row: pd.Series) -> str:
    """ "14.2 min (12.0–16.1)": a figure and its 95% interval."""
    column = metric.column
    value = float(row[column])
    if math.isnan(value):
        return "—"
    low, high = float(row[f"{column}_low"]), float(row[f"{column}_high"])
    return f"{_figure(metric, value)} ({_figure(metric, low)}–{_figure(metric, high)})"


def _pct(value: float | None, decimals: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.{decimals}f}%"


def _difference(metric: agg.Metric, comparison: Comparison) -> str:
    if comparison.verdict == "not enough data":
        return "—"
    delta = agg.format_delta(comparison.difference, metric.unit) or "—"
    low = agg.format_delta(comparison.low, metric.unit) or "—"
    high = agg.format_delta(comparison.high, metric.unit) or "—"
    return f"{delta} ({low} to {high})"


VERDICT_WORDS: dict[Verdict, str] = {
    "better": "real difference: better",
    "worse": "real difference: worse",
    "within noise": "within noise",
    "not enough data": "not enough data",
}


def _period_text(conversations: pd.DataFrame, options: ReportOptions) -> tuple[date, date] | None:
    opened = conversations["opened_at"].dropna()
    if options.start is not None and options.end is not None:
        return options.start, options.end
    if opened.empty:
        return None
    first = options.start or opened.min().date()
    last = options.end or opened.max().date()
    return first, last


# -- the executive summary -------------------------------------------------------------

# How a sentence names a metric's figure, its best and its worst.
_PHRASES: dict[str, tuple[str, str, str, str, str]] = {
    # column: (lead, better-than word, worse-than word, best, worst)
    "ttfr_median_seconds": (
        "answers in a median {value}",
        "faster than",
        "slower than",
        "the fastest",
        "the slowest",
    ),
    "sla_share": (
        "answers {value} of conversations within the SLA ({sla})",
        "more often than",
        "less often than",
        "the highest share",
        "the lowest share",
    ),
    "deflection_rate": (
        "sends {value} of answered conversations to another channel",
        "less often than",
        "more often than",
        "the lowest rate",
        "the highest rate",
    ),
    "resolution_rate": (
        "resolves {value} of answered care requests in public",
        "more than",
        "fewer than",
        "the highest rate",
        "the lowest rate",
    ),
    "templated_ratio": (
        "sends {value} of its replies from templates",
        "fewer than",
        "more than",
        "the lowest share",
        "the highest share",
    ),
}


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def focus_comparisons(
    card: pd.DataFrame, metric: agg.Metric, focus: str, competitors: Sequence[str]
) -> dict[str, Comparison]:
    """The focus brand against each competitor on one metric (`compare`, focus as subject)."""
    mine = agg.estimate_of(_row(card, focus), metric.column)
    return {
        brand: compare(mine, agg.estimate_of(_row(card, brand), metric.column), metric.better)
        for brand in competitors
    }


def _row(card: pd.DataFrame, brand: str) -> pd.Series | None:
    """A brand's scorecard row (brands are unique in a scorecard), None when absent."""
    rows = card[card["brand"] == brand]
    return None if rows.empty else rows.iloc[0]


def _cases(card: pd.DataFrame, brand: str, column: str) -> int:
    row = _row(card, brand)
    return 0 if row is None else int(row[f"{column}_n"])


def summary_sentence(
    card: pd.DataFrame,
    metric: agg.Metric,
    focus: str,
    competitors: Sequence[str],
    sla: str,
    min_sample: int = 30,
) -> Sentence | None:
    """One plain sentence on one metric, claiming only the differences that are real.

    "fastest of N" (or "highest"...) only when the focus brand is really better (or worse)
    than every competitor; otherwise the competitors it really beats, those it really
    trails, and those it cannot be told apart from ("within noise"). A side with fewer
    than `min_sample` cases is compared with nothing ("too few cases"): the interval of a
    median of one conversation is that one time, which `compare` would take as certain.
    """
    rows = card[card["brand"] == focus]
    if rows.empty or math.isnan(float(rows.iloc[0][metric.column])):
        return None
    lead, better_word, worse_word, best, worst = _PHRASES[metric.column]
    value = _figure(metric, float(rows.iloc[0][metric.column]))
    text = f"{focus} " + lead.format(value=value, sla=sla)
    own = _cases(card, focus, metric.column)
    if own < min_sample:
        claims = tuple(Claim(metric.column, b, "not enough data") for b in competitors)
        return Sentence(f"{text}, on only {own:,} cases: too few to compare.", claims)
    comparisons = {
        brand: UNKNOWN if _cases(card, brand, metric.column) < min_sample else comparison
        for brand, comparison in focus_comparisons(card, metric, focus, competitors).items()
    }
    claims = tuple(Claim(metric.column, b, c.verdict) for b, c in comparisons.items())
    groups: dict[Verdict, list[str]] = {}
    for brand, comparison in comparisons.items():
        groups.setdefault(comparison.verdict, []).append(brand)
    total = len(competitors) + 1
    if competitors and len(groups.get("better", [])) == len(competitors):
        return Sentence(f"{text}, {best} of {total} (a real difference from each).", claims)
    if competitors and len(groups.get("worse", [])) == len(competitors):
        return Sentence(f"{text}, {worst} of {total} (a real difference from each).", claims)
    parts = []
    if groups.get("better"):
        parts.append(f"really {better_word} {_join(groups['better'])}")
    if groups.get("worse"):
        parts.append(f"really {worse_word} {_join(groups['worse'])}")
    if groups.get("within noise"):
        noise = groups["within noise"]
        gap = "the gap to" if len(noise) == 1 else "the gaps to"
        parts.append(f"{gap} {_join(noise)} {'is' if len(noise) == 1 else 'are'} within noise")
    if groups.get("not enough data"):
        parts.append(f"too few cases to compare with {_join(groups['not enough data'])}")
    if not parts:
        return Sentence(text + ".", claims)
    return Sentence(f"{text}; " + "; ".join(parts) + ".", claims)


def peers_sentence(
    card: pd.DataFrame, focus: str, competitors: Sequence[str], min_sample: int = 30
) -> Sentence | None:
    """Every metric against the peers' median (the tiles' verdict), in one sentence.

    Metrics where the focus brand has fewer than `min_sample` cases are left out.
    """
    if not competitors:
        return None
    tiles = [
        t for t in agg.kpi_tiles(card, focus, tuple(competitors), agg.METRICS) if t.n >= min_sample
    ]
    if not tiles:
        return None
    better = [t.metric.label.lower() for t in tiles if t.comparison.verdict == "better"]
    worse = [t.metric.label.lower() for t in tiles if t.comparison.verdict == "worse"]
    noise = [t for t in tiles if t.comparison.verdict == "within noise"]
    claims = tuple(Claim(t.metric.column, "peers' median", t.comparison.verdict) for t in tiles)
    parts = []
    if better:
        parts.append(f"really better on {_join(better)}")
    if worse:
        parts.append(f"really worse on {_join(worse)}")
    text = f"Against the competitors' median, {focus} is "
    if parts:
        text += "; ".join(parts)
        if len(noise) == 1:
            text += "; the other metric it can be compared on is within noise."
        else:
            text += f"; the other {len(noise)} metrics are within noise." if noise else "."
    elif len(noise) == 1:
        text += "within noise on the one metric it can be compared on."
    else:
        text += f"within noise on all {len(noise)} metrics it can be compared on."
    return Sentence(text, claims)


def executive_summary(
    card: pd.DataFrame, focus: str, competitors: Sequence[str], sla: str, min_sample: int = 30
) -> tuple[Sentence, ...]:
    """Three to five plain sentences from the figures, each claim backed by `compare`."""
    sentences: list[Sentence] = []
    for column in ("ttfr_median_seconds", "templated_ratio", "resolution_rate", "deflection_rate"):
        metric = agg.METRIC_BY_COLUMN[column]
        made = summary_sentence(card, metric, focus, competitors, sla, min_sample)
        if made is not None:
            sentences.append(made)
    peers = peers_sentence(card, focus, competitors, min_sample)
    if peers is not None:
        sentences.append(peers)
    if not sentences:
        sentences.append(Sentence(f"{focus} has no answered conversation in this period."))
    return tuple(sentences[:5])


# -- tables ------------------------------------------------------------------------------


def scorecard_tables(card: pd.DataFrame, options: ReportOptions) -> tuple[Table, Table]:
    """Every metric per brand (figure, 95% interval, n), then the verdicts."""
    rows = {b: _row(card, b) for b in options.brands}
    brands = [b for b, row in rows.items() if row is not None]
    figures = []
    for metric in agg.METRICS:
        cells = [f"{metric.label} ({metric.better} is better)"]
        for brand in brands:
            row = cast(pd.Series, rows[brand])
            n = int(row[f"{metric.column}_n"])
            small = " *" if n < options.min_sample else ""
            cells.append(f"{figure_with_interval(metric, row)}\nn = {n:,}{small}")
        figures.append(tuple(cells))
    table = Table(
        "scorecard",
        "Scorecard: every metric with its 95% interval and n",
        ("Metric", *(f"{b} (focus)" if b == options.focus else b for b in brands)),
        tuple(figures),
        note=f"Figures in brackets: 95% interval. * under {options.min_sample} cases: a small "
        "sample, do not rank on it. "
        "n: the cases each figure is over. Times in s, min, h or days; rates in %.",
    )
    competitors = [b for b in options.competitors if rows.get(b) is not None]
    tiles = agg.kpi_tiles(card, options.focus, tuple(competitors), agg.METRICS)
    verdict_rows = []
    for tile in tiles:
        metric = tile.metric
        comparisons = focus_comparisons(card, metric, options.focus, competitors)
        mine = _cases(card, options.focus, metric.column)
        # The dashboard's verdict, starred where a side is a small sample.
        cells = [
            VERDICT_WORDS[comparisons[b].verdict]
            + (" *" if min(mine, _cases(card, b, metric.column)) < options.min_sample else "")
            for b in competitors
        ]
        verdict_rows.append(
            (
                metric.label,
                *cells,
                VERDICT_WORDS[tile.comparison.verdict]
                + (
                    f"\n{_difference(metric, tile.comparison)}"
                    if tile.comparison.verdict != "not enough data"
                    else ""
                ),
            )
        )
    verdicts = Table(
        "verdicts",
        f"Is the difference real? {options.focus} against each competitor and the peers' median",
        (
            "Metric",
            *(f"vs {b}" for b in competitors),
            "vs peers' median (difference, 95% interval)",
        ),
        tuple(verdict_rows),
        note="Real difference: the 95% interval of the difference leaves out zero. Within "
        "noise: this sample cannot tell the two apart (which is not proof they are equal). "
        f"* a side has under {options.min_sample} cases: do not rely on the verdict.",
    )
    return table, verdicts


def _brand_label(brand: str, focus: str) -> str:
    return f"{brand} (focus)" if brand == focus else brand


# -- charts ------------------------------------------------------------------------------


class _Context:
    """What every chart of one report shares: brands in order, colours, units."""

    def __init__(self, card: pd.DataFrame, options: ReportOptions) -> None:
        present = set(card["brand"].astype(str))
        self.brands = [b for b in options.brands if b in present]
        self.focus = options.focus
        self.colours = ch.brand_colours(options.all_brands or options.brands)
        self.options = options
        self.card = card

    def colour(self, brand: str) -> str:
        return ch.brand_colour(brand, self.colours)

    def label(self, brand: str) -> str:
        return _brand_label(brand, self.focus)


def interval_page_chart(
    ctx: _Context, metric: agg.Metric, key: str, heading: str, note: str
) -> Chart:
    """One bar per brand (PowerPoint) / dot and interval per brand (PDF) for one metric."""
    card = ctx.card[ctx.card["brand"].isin(ctx.brands)]
    unit = agg.display_unit(metric, card[metric.column])
    table = agg.interval_table(card, metric, ctx.options.min_sample, unit)
    log = metric.unit == "minutes" and agg.wide_spread(table["value"])
    axis = agg.unit_title(metric, unit)
    best = "lower is better" if metric.better == "lower" else "higher is better"
    n_text = ch.n_lines(dict(zip(table["brand"], table["n"], strict=True)), "n", per_line=6)
    notes = (
        f"{note} ({best}); hollow = under {ctx.options.min_sample} cases; bold = focus brand",
        *n_text,
    )
    spec = ch.interval_chart(
        table,
        ctx.brands,
        ch.title(heading, list(notes)),
        f"{metric.label} (log scale)" if log else axis,
        colours=ctx.colours,
        log=log,
        time_unit=unit,
    )
    by_brand = table.set_index("brand")
    values = tuple(_num(by_brand.loc[b, "value"]) for b in ctx.brands)
    return Chart(
        key=key,
        title=heading,
        notes=notes,
        kind="bar",
        categories=tuple(ctx.label(b) for b in ctx.brands),
        series=(
            Series(
                axis,
                values,
                ctx.colour(ctx.focus),
                point_colours=tuple(ctx.colour(b) for b in ctx.brands),
            ),
        ),
        value_title=axis,
        category_title="Brand",
        spec=spec,
        value_max=100.0 if unit == agg.PERCENT else None,
    )


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def speed_charts(ctx: _Context, conversations: pd.DataFrame) -> tuple[Chart, ...]:
    answered = agg.valid_ttfr(conversations)
    answered_n = answered.groupby("brand").size().reindex(ctx.brands).dropna().to_dict()
    sla = ch._minutes_label(ctx.options.sla_minutes)
    ecdf = agg.ttfr_ecdf(answered, points=41)
    heading = "How long customers waited for a first reply"
    notes = (
        f"Share of answered conversations answered within t (log time axis); SLA {sla}",
        *ch.n_lines(answered_n, "n answered", per_line=6),
    )
    spec = ch.ecdf_chart(
        ecdf,
        ctx.brands,
        int(ctx.options.sla_minutes),
        ch.title(heading, list(notes)),
        colours=ctx.colours,
    )
    series = []
    for brand in ctx.brands:
        own = ecdf[ecdf["brand"] == brand]
        if own.empty:
            continue
        series.append(
            Series(
                ctx.label(brand),
                tuple(float(s) * 100 for s in own["share"]),
                ctx.colour(brand),
                focus=brand == ctx.focus,
                x=tuple(float(m) for m in own["minutes"]),
            )
        )
    distribution = Chart(
        key="ttfr-distribution",
        title=heading,
        notes=notes,
        kind="xy",
        categories=(),
        series=tuple(series),
        value_title="Answered within t (%)",
        category_title="Time to first response (min, log scale)",
        spec=spec,
        log_x=True,
        value_max=100.0,
    )
    sla_share = interval_page_chart(
        ctx,
        agg.METRIC_BY_COLUMN["sla_share"],
        "sla-share",
        f"Share answered within the SLA ({sla}), by brand",
        "Share of answered conversations",
    )
    return distribution, sla_share


def deflection_charts(ctx: _Context, conversations: pd.DataFrame) -> tuple[Chart, ...]:
    rate = interval_page_chart(
        ctx,
        agg.METRIC_BY_COLUMN["deflection_rate"],
        "deflection-rate",
        "Share of answered conversations deflected, by brand",
        "Sent to DM, phone, e-mail, web, a store or another account",
    )
    mix = agg.channel_mix(conversations)
    if mix.empty:
        return (rate,)
    shown = [b for b in ctx.brands if b in set(mix["brand"])]
    deflected_n = mix.groupby("brand")["n"].first().reindex(shown).dropna().to_dict()
    heading = "Where each brand sends the customers it deflects"
    notes = (
        "% of each brand's deflected conversations; one sent to two channels counts in both",
        *ch.n_lines(deflected_n, "n deflected", per_line=6),
    )
    spec = ch.channel_chart(mix, shown, ch.title(heading, list(notes)))
    channels = list(agg.CHANNEL_LABELS.values())
    wide = mix.pivot_table(index="brand", columns="channel", values="share", aggfunc="first")
    series = tuple(
        Series(
            ctx.label(brand),
            tuple(_num(wide.loc[brand].get(c)) or 0.0 for c in channels),
            ctx.colour(brand),
            focus=brand == ctx.focus,
        )
        for brand in shown
    )
    channel = Chart(
        key="deflection-channels",
        title=heading,
        notes=notes,
        kind="bar",
        categories=tuple(channels),
        series=series,
        value_title="Share of deflected conversations (%)",
        category_title="Channel",
        spec=spec,
        value_max=100.0,
    )
    return rate, channel


def outcome_chart(ctx: _Context, conversations: pd.DataFrame) -> Chart | None:
    outcomes = agg.outcome_shares(conversations)
    if outcomes.empty:
        return None
    shown = [b for b in ctx.brands if b in set(outcomes["brand"])]
    care_n = outcomes.groupby("brand")["n"].first().reindex(shown).dropna().to_dict()
    heading = "How care requests ended in public, by brand"
    notes = (
        "Share of care requests (unknown: nothing in public tells; often after a move to DM)",
        *ch.n_lines(care_n, "n care requests", per_line=6),
    )
    spec = ch.outcome_chart(outcomes, shown, ch.title(heading, list(notes)))
    wide = outcomes.pivot_table(index="brand", columns="outcome", values="share", aggfunc="first")
    series = tuple(
        Series(
            outcome,
            tuple(_num(wide.loc[b].get(outcome)) or 0.0 if b in wide.index else 0.0 for b in shown),
            ch.OUTCOME_COLOURS[outcome],
        )
        for outcome in agg.OUTCOME_ORDER
    )
    return Chart(
        key="outcomes",
        title=heading,
        notes=notes,
        kind="stacked",
        categories=tuple(ctx.label(b) for b in shown),
        series=series,
        value_title="Share of care requests (%)",
        category_title="Brand",
        spec=spec,
        value_max=100.0,
    )


def outcome_table(ctx: _Context) -> Table:
    rows = []
    bold = []
    for i, brand in enumerate(ctx.brands):
        shares = agg.outcome_split(ctx.card, brand)
        if brand == ctx.focus:
            bold.append(i)
        rows.append(
            (
                ctx.label(brand),
                *(
                    f"{_pct(s.value)} ({_pct(s.low)}–{_pct(s.high)})" if s.n else "—"
                    for s in shares
                ),
                f"{shares[0].n:,}",
            )
        )
    return Table(
        "outcome-split",
        "Answered care requests by public outcome (95% intervals)",
        ("Brand", "Resolved", "Unresolved", "Unknown", "n answered care requests"),
        tuple(rows),
        tuple(bold),
        note="The resolution rate is the resolved share; unknown cases are never hidden.",
    )


def template_table(ctx: _Context, templates: pd.DataFrame) -> Table:
    rows = []
    for brand in ctx.brands:
        own = templates[templates["brand"] == brand].sort_values("posts", ascending=False)
        limit = TOP_TEMPLATES if brand == ctx.focus else 2
        for number, (_, row) in enumerate(own.head(limit).iterrows(), start=1):
            examples = row["examples"]
            example = str(examples[0]) if examples is not None and len(examples) else ""
            if len(example) > EXAMPLE_CHARS:
                example = example[: EXAMPLE_CHARS - 1].rstrip() + "…"
            rows.append(
                (
                    ctx.label(brand),
                    str(number),
                    f"{int(row['posts']):,}",
                    _pct(float(row["share"]), 1),
                    example,
                )
            )
    return Table(
        "templates",
        f"Top templates: {ctx.focus}'s {TOP_TEMPLATES} largest, each competitor's 2"
        if (templates["brand"] == ctx.focus).any()
        else f"Top templates: each competitor's 2 ({ctx.focus} sends no reply 3 times or more)",
        ("Brand", "#", "Posts", "Share of brand posts", "Example"),
        tuple(rows),
        tuple(i for i, row in enumerate(rows) if row[0] == ctx.label(ctx.focus)),
        note="A template: 3 or more near-identical replies of one brand (handles, links, "
        "numbers and sign-offs masked). Found over every post the brand wrote.",
    )


TREND_METRICS = ("ttfr_median_seconds", "resolution_rate")


def trend_table(ctx: _Context, periodic: pd.DataFrame) -> Table:
    """Each brand's figure per month (95% interval, n), flagged as on the charts."""
    metrics = [agg.METRIC_BY_COLUMN[c] for c in TREND_METRICS]
    rows: list[tuple[str, ...]] = []
    bold = []
    data = periodic[periodic["brand"].isin(ctx.brands)].copy()
    data["period"] = pd.to_datetime(data["period"])
    first = pd.Timestamp(ctx.options.start) if ctx.options.start else None
    last = pd.Timestamp(ctx.options.end) if ctx.options.end else None
    for brand in ctx.brands:
        own = data[data["brand"] == brand].sort_values("period")
        for _, row in own.iterrows():
            if all(int(row[f"{m.column}_n"]) == 0 for m in metrics):
                continue  # conversations but none answered: nothing to show
            month = pd.Timestamp(row["period"]).tz_localize(None)
            partial = (first is not None and month < first) or (
                last is not None and month + pd.offsets.MonthBegin(1) > last + pd.Timedelta(days=1)
            )
            cells = [ctx.label(brand), month.strftime("%b %Y") + (" (partial)" if partial else "")]
            for metric in metrics:
                n = int(row[f"{metric.column}_n"])
                small = " *" if n < ctx.options.min_sample else ""
                cells.append(f"{figure_with_interval(metric, row)}, n = {n:,}{small}")
            if brand == ctx.focus:
                bold.append(len(rows))
            rows.append(tuple(cells))
    return Table(
        "trend-figures",
        "Each brand per month: the figures behind the charts",
        ("Brand", "Month", *(m.label for m in metrics)),
        tuple(rows),
        tuple(bold),
        note=f"* under {ctx.options.min_sample} cases: read its movement as noise. A partial "
        "month is cut by the report's period. On the charts, a hollow point beyond the axis "
        "(set by the reliable months) is drawn at its edge; its figure is here.",
    )


def trend_chart(ctx: _Context, periodic: pd.DataFrame, metric: agg.Metric) -> Chart | None:
    if periodic.empty:
        return None
    unit = agg.display_unit(metric, periodic[metric.column])
    start, end = ctx.options.start, ctx.options.end
    trend = agg.trend_table(
        periodic, metric, ctx.options.min_sample, period="month", start=start, end=end, unit=unit
    )
    if trend.empty:
        return None
    reliable = trend[trend["reliable"]]
    log = metric.unit == "minutes" and agg.wide_spread(reliable["value"])
    axis = agg.unit_title(metric, unit) + (" (log scale)" if log else "")
    better = "lower is better" if metric.better == "lower" else "higher is better"
    heading = f"{metric.label} per month, by brand ({better})"
    notes = (
        "Band = 95% interval; thick line = focus brand; hollow point, dashed line = under "
        f"{ctx.options.min_sample} cases or a partial month",
        *ch.n_lines(
            trend.groupby("brand")["n"].sum().reindex(ctx.brands).dropna().to_dict(),
            f"n cases over {trend['period'].nunique()} months",
            per_line=6,
        ),
    )
    spec = ch.trend_chart(
        trend,
        ctx.brands,
        axis,
        ch.title(heading, list(notes)),
        period="month",
        colours=ctx.colours,
        domain=agg.trend_domain(trend, unit, log),
        log=log,
    )
    # Every month of the range, so a month without a case is a gap, never skipped.
    months = list(pd.date_range(trend["period"].min(), trend["period"].max(), freq="MS"))
    spec = _readable_months(spec, trend["period"])
    series = []
    for brand in ctx.brands:
        own = trend[trend["brand"] == brand].set_index("period")["value"]
        if own.empty:
            continue
        series.append(
            Series(
                ctx.label(brand),
                tuple(_num(own.get(m)) for m in months),
                ctx.colour(brand),
                focus=brand == ctx.focus,
            )
        )
    return Chart(
        key=f"trend-{metric.column}",
        title=heading,
        notes=notes,
        kind="line",
        categories=tuple(pd.Timestamp(m).strftime("%b %Y") for m in months),
        series=tuple(series),
        value_title=axis,
        category_title="Month (UTC)",
        spec=spec,
        value_max=100.0 if unit == agg.PERCENT else None,
    )


def _readable_months(spec: Any, periods: pd.Series) -> Any:
    """The trend chart with month labels that never print over each other.

    A store whose stray posts stretch the range over many months (the TWCS sample has
    a few from 2016) gets angled labels, and Vega drops the ones that would still touch.
    """
    import altair as alt

    starts = pd.to_datetime(periods)
    span = (starts.max().year - starts.min().year) * 12 + starts.max().month - starts.min().month
    if span < 8:
        return spec
    layered = spec.to_dict()
    for layer in layered.get("layer", []):
        axis = layer.get("encoding", {}).get("x", {}).get("axis")
        if axis is not None:
            axis.update(labelOverlap="greedy", labelAngle=-40, labelAlign="right")
    return alt.LayerChart.from_dict(layered)


def topic_pages(ctx: _Context, conversations: pd.DataFrame) -> tuple[Chart | None, Table]:
    """Top topics per brand with share, deflection and resolution, and which recur."""
    topics = topic_table(conversations, None)
    topics = topics[topics["brand"].isin(ctx.brands)]
    focus_topics = (
        topics[topics["brand"] == ctx.focus]
        .sort_values("care_requests", ascending=False)["topic"]
        .head(TOP_TOPICS)
        .tolist()
    )
    rows: list[tuple[str, ...]] = []
    bold = []
    for brand in ctx.brands:
        own = topics[topics["brand"] == brand].sort_values("care_requests", ascending=False)
        limit = TOP_TOPICS if brand == ctx.focus else 3
        for _, row in own.head(limit).iterrows():
            if brand == ctx.focus:
                bold.append(len(rows))
            rows.append(
                (
                    ctx.label(brand),
                    str(row["topic"]),
                    f"{int(row['care_requests']):,}",
                    f"{_pct(row['share'])} ({_pct(row['share_low'])}–{_pct(row['share_high'])})",
                    _pct(_num(row["deflection_rate"])),
                    _pct(_num(row["resolution_rate"])),
                    f"yes, {int(row['periods_seen'])} weeks" if row["recurring"] else "no",
                )
            )
    table = Table(
        "topics",
        "Recurring issues: each brand's top topics of care requests",
        (
            "Brand",
            "Topic",
            "Care requests",
            "Share (95% interval)",
            "Deflected",
            "Resolved",
            "Recurs",
        ),
        tuple(rows),
        tuple(bold),
        note="Deflected and resolved: of the topic's answered care requests. A topic recurs "
        "when it comes back in at least half of the weeks the brand had care requests, "
        f"and in 3 or more. '{OTHER}': no taxonomy topic.",
    )
    if not focus_topics:
        return None, table
    heading = f"Topics of care requests: {ctx.focus}'s top {len(focus_topics)}, by brand"
    counts = topics.groupby("brand")["care_requests"].sum().reindex(ctx.brands).dropna()
    notes = (
        "Share of each brand's care requests with that topic",
        *ch.n_lines(counts.to_dict(), "n care requests", per_line=6),
    )
    shown = topics[topics["topic"].isin(focus_topics)]
    series = []
    long_rows = []
    for brand in ctx.brands:
        shares = shown[shown["brand"] == brand].set_index("topic")["share"]
        if shares.empty and brand not in counts.index:
            continue
        values = tuple(float(shares.get(t, 0.0)) * 100 for t in focus_topics)
        series.append(Series(ctx.label(brand), values, ctx.colour(brand), brand == ctx.focus))
        long_rows += [
            {"brand": brand, "topic": t, "share": v}
            for t, v in zip(focus_topics, values, strict=True)
        ]
    spec = topic_spec(pd.DataFrame(long_rows), ctx, focus_topics, heading, notes)
    chart = Chart(
        key="topics",
        title=heading,
        notes=notes,
        kind="bar",
        categories=tuple(focus_topics),
        series=tuple(series),
        value_title="Share of care requests (%)",
        category_title="Topic",
        spec=spec,
    )
    return chart, table


def topic_spec(
    data: pd.DataFrame,
    ctx: _Context,
    topics: Sequence[str],
    heading: str,
    notes: Sequence[str],
) -> Any:
    """Grouped bars: each topic's share per brand, in the brands' fixed colours."""
    import altair as alt

    shown = [b for b in ctx.brands if b in set(data["brand"])]
    return (
        alt.Chart(data, title=ch.title(heading, list(notes)))
        .mark_bar()
        .encode(
            x=alt.X("topic:N", sort=list(topics), title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("brand:N", sort=shown),
            y=alt.Y("share:Q", title="Share of care requests (%)"),
            # Square swatches: the dashboard's brand legend draws lines, for line charts.
            color=alt.Color(
                "brand:N",
                title="Brand",
                scale=ch.brand_scale(shown, ctx.colours),
                legend=alt.Legend(
                    orient="bottom",
                    symbolType="square",
                    labelExpr=f"datum.label === {json.dumps(ctx.focus)} ? datum.label + "
                    "' (focus)' : datum.label",
                ),
            ),
            opacity=ch._focus_opacity(shown, other=0.7),
        )
        .properties(height=360)
    )


# -- method ------------------------------------------------------------------------------

# METRICS.md's definitions, short.
DEFINITIONS: dict[str, str] = {
    "ttfr_median_seconds": "Time to first response (TTFR): from the customer post the brand "
    "answered to the brand's first reply; the median over answered conversations.",
    "sla_share": "Share of answered conversations answered within the SLA.",
    "resolution_rate": "Resolved / answered care requests: after a brand reply the customer "
    "says it is solved, or the brand states a concrete fix and the customer does not object.",
    "deflection_rate": "Answered conversations with at least one brand post that moves the "
    "customer elsewhere (DM, phone, e-mail, web, a store, another account) / answered "
    "conversations.",
    "templated_ratio": "Brand posts in a template (a group of 3 or more near-identical "
    "replies of one brand) / brand posts.",
    "empathy_rate": "First brand replies that acknowledge or apologise for the customer's problem.",
    "ttfr_p90_seconds": "The TTFR 9 in 10 answered conversations beat.",
    "first_touch_deflection_rate": "Answered conversations whose first brand reply deflects.",
    "personal_touch_rate": "Brand posts signed by an agent (^AB, -Becky) or addressing the "
    "customer by name.",
    "repeat_contact_rate": "A customer opens another conversation with the same brand within "
    "7 days.",
}


def method_pages(
    analysis: Analysis, card: pd.DataFrame, options: ReportOptions
) -> tuple[Page, Page]:
    definitions = Table(
        "definitions",
        "What the figures mean",
        ("Metric", "Definition (METRICS.md)"),
        tuple((m.label, DEFINITIONS.get(m.column, m.meaning)) for m in agg.METRICS),
        note="A conversation is the reply tree under a customer post; a care request is one "
        "where the customer raises a problem, question or request for help. Times are UTC.",
    )
    small = card.loc[card["small_sample"].astype(bool), "brand"].astype(str).tolist()
    unknown = [
        f"{b} {_pct(agg.outcome_split(card, b)[2].value)}"
        for b in options.brands
        if b in set(card["brand"])
    ]
    caveats = [
        "Public replies only: what brands and customers wrote in public. Private messages, "
        "calls and e-mails are not seen, so a case moved to DM ends as 'unknown'.",
        "Unknown outcomes (share of answered care requests): " + ", ".join(unknown) + ".",
        (
            f"Small samples (under {options.min_sample} conversations): {', '.join(small)}; "
            "their intervals are wide, do not rank on them."
            if small
            else f"Every brand has at least {options.min_sample} conversations."
        ),
        "Every figure comes with a 95% interval (Wilson for rates, bootstrap for medians); a "
        "difference is real only when its own 95% interval leaves out zero.",
    ]
    if "twcs" in options.formats:
        caveats.append(
            "TWCS data samples conversations that got replies: response rates are near 100% "
            "by construction and are not compared."
        )
    issues = agg.issue_table(analysis.issues, 0)
    issues = issues[issues["Check"] != "rejected rows"]
    quality = Table(
        "data-quality",
        "Data quality (the whole store)",
        ("Check", "Count", "Meaning"),
        tuple(
            (str(r["Check"]), f"{int(r['Count']):,}", str(r["Meaning"]))
            for _, r in issues.iterrows()
        ),
    )
    tables = [definitions]
    accuracy = load_published()
    notes: list[str] = []
    if accuracy is not None:
        figures = accuracy_table(accuracy)
        column = ALL_SOURCES_LABEL if ALL_SOURCES_LABEL in figures else figures.columns[-1]
        tables.append(
            Table(
                "accuracy",
                "How far the labels agree with human readers (test half of the evaluation set)",
                ("Label", "Agreement (95% interval), n conversations"),
                tuple((str(r["Figure"]), str(r[column])) for _, r in figures.iterrows()),
                note="Measured by `carebench validate` on conversations labelled by "
                "independent readers; outcome labels are the least certain.",
            )
        )
    else:
        notes.append("The accuracy of the labels has not been measured in this installation.")
    return (
        Page(
            "method", "Method: definitions and accuracy", tables=tuple(tables), notes=tuple(notes)
        ),
        Page("method", "Method: caveats and data quality", lines=tuple(caveats), tables=(quality,)),
    )


# -- the report ------------------------------------------------------------------------


def build_report(
    analysis: Analysis,
    options: ReportOptions,
    *,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """The report of `options.focus` against `options.competitors` over `analysis`.

    `analysis` holds the conversations the report is about (`select_analysis`: the
    brands and days already chosen); the data-quality counts are the store's. With
    `options.anonymise` everything shown is anonymised (customers, names, e-mails,
    phones, post ids and links to posts), threads included.
    """
    step = progress or (lambda _: None)
    if analysis.conversations.empty:
        raise ReportError(
            f"No conversation of {_join(list(options.brands))} in this period: widen the "
            "dates (--from/--to) or choose other brands."
        )
    settings = Settings(sla_seconds=options.sla_seconds, min_sample=options.min_sample)
    # Threads are chosen on the raw ids (pins name them) and anonymised as they are made.
    step("example threads")
    threads = _threads(analysis, options)
    if options.anonymise and not options.anonymised_input:
        step("anonymising")
        slim = analysis.conversations.drop(
            columns=[c for c in _TEXT_COLUMNS if c in analysis.conversations]
        )
        analysis = anonymise_analysis(
            Analysis(slim, analysis.turns.iloc[:0], analysis.templates, analysis.issues)
        )
    conversations = analysis.conversations
    step("scorecard")
    card = scorecard(conversations, settings)
    if options.focus not in set(card["brand"]):
        raise ReportError(f"{options.focus} has no conversation in this period: widen the dates.")
    ctx = _Context(card, options)
    sla = ch._minutes_label(options.sla_minutes)
    summary = executive_summary(
        card,
        options.focus,
        [b for b in options.competitors if b in set(card["brand"])],
        sla,
        options.min_sample,
    )
    pages: list[Page] = [_title_page(conversations, options, sla)]
    pages.append(Page("summary", "Executive summary", tuple(s.text for s in summary)))
    figures, verdicts = scorecard_tables(card, options)
    pages.append(Page("scorecard", "Scorecard", tables=(figures,)))
    pages.append(Page("scorecard", "Real differences or noise?", tables=(verdicts,)))
    step("speed")
    pages.append(
        Page(
            "area",
            "Speed",
            (_area_line(card, "ttfr_median_seconds", options, sla),),
            charts=speed_charts(ctx, conversations),
        )
    )
    step("deflection")
    pages.append(
        Page(
            "area",
            "Deflection",
            (_area_line(card, "deflection_rate", options, sla),),
            charts=deflection_charts(ctx, conversations),
        )
    )
    step("resolution")
    outcome = outcome_chart(ctx, conversations)
    pages.append(
        Page(
            "area",
            "Resolution",
            (_area_line(card, "resolution_rate", options, sla),),
            charts=(outcome,) if outcome is not None else (),
            tables=(outcome_table(ctx),),
        )
    )
    step("templates")
    pages.append(
        Page(
            "area",
            "Templates",
            (_area_line(card, "templated_ratio", options, sla),),
            charts=(
                interval_page_chart(
                    ctx,
                    agg.METRIC_BY_COLUMN["templated_ratio"],
                    "templated-ratio",
                    "Share of brand replies that are templated, by brand",
                    "n = brand posts",
                ),
            ),
            tables=(template_table(ctx, analysis.templates),),
        )
    )
    step("trends")
    periodic = scorecard(conversations, settings, "month")
    trends = [trend_chart(ctx, periodic, agg.METRIC_BY_COLUMN[c]) for c in TREND_METRICS]
    pages.append(
        Page(
            "area",
            "Trends",
            ("Each brand per calendar month (UTC), with 95% intervals.",),
            charts=tuple(c for c in trends if c is not None),
            tables=(trend_table(ctx, periodic),) if len(periodic) else (),
        )
    )
    step("recurring issues")
    topic_chart, topics = topic_pages(ctx, conversations)
    pages.append(
        Page(
            "area",
            "Recurring issues",
            ("What customers ask about, how each topic fares, and which keep coming back.",),
            charts=(topic_chart,) if topic_chart is not None else (),
            tables=(topics,),
        )
    )
    for thread in threads:
        pages.append(Page("threads", _thread_title(thread), thread=thread))
    step("method")
    pages.extend(method_pages(analysis, card, options))
    title = f"{options.focus} vs {', '.join(options.competitors) or 'no competitor'}"
    return Report(title, tuple(pages), summary, card, options)


def _threads(analysis: Analysis, options: ReportOptions) -> list[DeckThread]:
    try:
        return choose_threads(
            analysis,
            sla_seconds=options.sla_seconds,
            good=GALLERY_GOOD,
            bad=GALLERY_BAD,
            brands=[options.focus] if options.pins is None else (),
            pins=options.pins,
            anonymise=options.anonymise and not options.anonymised_input,
        )
    except DeckError as exc:
        if options.pins is None:
            return []  # no scored thread: the report says so on no page, it has none
        if options.pins.empty:
            raise ReportError(
                "No thread is pinned in this store. Pin threads on the dashboard's "
                "Conversations page, or leave out --pins to show the focus brand's best and "
                "worst threads."
            ) from exc
        raise ReportError(
            "None of the pinned threads is among these brands' conversations in this "
            "period: widen the dates, add the pinned threads' brands, or leave out --pins."
        ) from exc


def _thread_title(thread: DeckThread) -> str:
    kind = {"good": "good example", "bad": "bad example", "pinned": "pinned thread"}
    return f"Example thread: {thread.brand}, {kind.get(thread.kind, thread.kind)} {thread.rank}"


def _area_line(card: pd.DataFrame, column: str, options: ReportOptions, sla: str) -> str:
    competitors = [b for b in options.competitors if b in set(card["brand"])]
    sentence = summary_sentence(
        card, agg.METRIC_BY_COLUMN[column], options.focus, competitors, sla, options.min_sample
    )
    return sentence.text if sentence is not None else f"{options.focus}: no figure."


def _title_page(conversations: pd.DataFrame, options: ReportOptions, sla: str) -> Page:
    period = _period_text(conversations, options)
    when = f"{period[0]:%d %b %Y} – {period[1]:%d %b %Y} (UTC)" if period else "no dates"
    if options.is_demo:
        sources = "generated demo data (not real brands)"
    elif options.sources:
        sources = ", ".join(options.sources[:4]) + (
            f" and {len(options.sources) - 4} more" if len(options.sources) > 4 else ""
        )
        if options.formats:
            sources += f" ({', '.join(options.formats)})"
    else:
        sources = "no import recorded"
    if options.left_out:
        when += (
            f"; {options.left_out:,} conversation{'s' if options.left_out > 1 else ''} of "
            "these brands opened far from the bulk of the data left out (--from/--to "
            "include them)"
        )
    lines = (
        f"{options.focus} (focus) vs {', '.join(options.competitors) or 'no competitor'}",
        f"Period: {when}" + (f" · platform {options.platform}" if options.platform else ""),
        f"Conversations: {len(conversations):,}",
        f"SLA: first reply within {sla}",
        f"Data: {sources}",
        f"Store: {options.store_name or 'unnamed'}",
        f"Generated {options.generated:%d %b %Y %H:%M} UTC by CareBench"
        + (" · anonymised" if options.anonymise else ""),
    )
    return Page("title", "Customer care benchmark", lines)
