"""`carebench scorecard` and `carebench compare`: the dashboard's comparisons in a terminal.

Both pick the same view as the dashboard's sidebar (a focus brand, competitors, days
opened in UTC, a platform, an SLA) and print it as a table, CSV, JSON or Markdown.
`compare` gives each metric's "real difference / within noise" verdict from the same
functions the Scorecard page uses (`aggregates.focus_vs_peers`, `verdict_matrix`, which
call `benchmark.compare`), so a terminal and a screen can never disagree.

Units: tables and Markdown show each time column in the unit it reads best in (s, min,
h, d) and rates in percent to 0.1; CSV and JSON, read by scripts, always write times in
minutes and rates in percent (0.1), with the unit in the key (`_minutes`, `_pct`), as the
dashboard's downloads do. The JSON shapes are documented in `carebench/schemas/`.

Exit codes: 0 done; 1 a bad option or store; 3 a requested brand is not in the store
(`EXIT_UNKNOWN_BRAND`); 4 `compare` printed its table but the focus brand or every
competitor has fewer conversations than the small-sample threshold, so no verdict can
be relied on (`EXIT_TOO_SMALL`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from carebench.benchmark.csv_safety import csv_text
from carebench.benchmark.pipeline import UnknownBrand, analyse_store, check_brands
from carebench.benchmark.scorecard import Period, scorecard
from carebench.benchmark.settings import Settings
from carebench.benchmark.view import view_mask
from carebench.brands import load_brand_config
from carebench.cli_output import BrandConfigOption, DbOption, check_minutes, console, errors, fail
from carebench.dashboard import aggregates as agg
from carebench.errors import CareBenchError

EXIT_UNKNOWN_BRAND = 3
EXIT_TOO_SMALL = 4
SCHEMA_VERSION = 1


class OutputFormat(StrEnum):
    """How `scorecard` and `compare` print."""

    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


FocusOption = Annotated[str | None, typer.Option("--brand", help="The focus brand.")]
VsOption = Annotated[
    str | None,
    typer.Option("--vs", help="Competitors, comma-separated (default: the largest brands)."),
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="First day opened, YYYY-MM-DD (UTC).")
]
ToOption = Annotated[str | None, typer.Option("--to", help="Last day opened, YYYY-MM-DD (UTC).")]
PlatformOption = Annotated[
    str | None, typer.Option("--platform", help="Only this platform (twitter, bluesky...).")
]
SlaOption = Annotated[
    float,
    typer.Option(
        "--sla-minutes", callback=check_minutes, help="SLA threshold in minutes (above 0)."
    ),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="table, csv, json or markdown.")
]


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r}: write the day as YYYY-MM-DD, e.g. 2017-10-31.")


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def select_view(
    conversations: pd.DataFrame,
    *,
    start: date | None,
    end: date | None,
    platform: str | None,
) -> pd.DataFrame:
    """Conversations opened on the days [start, end] (UTC, both included), on a platform:
    the dashboard sidebar's rule (`benchmark.view.view_mask`)."""
    if platform:
        known = sorted(str(p) for p in conversations["platform"].dropna().unique())
        if platform not in known:
            fail(f"No conversations on platform {platform!r}. The store has: {', '.join(known)}.")
    return conversations[view_mask(conversations, start=start, end=end, platform=platform)]


def _brands(
    conversations: pd.DataFrame,
    focus: str | None,
    vs: str | None,
    top: int,
    known: pd.Series,
) -> list[str]:
    """Focus brand first, then the competitors; without --brand, the largest brands of
    the view. Named brands are checked against every brand of the store (`known`): a
    brand with no conversation in the chosen days is not unknown, its sample is empty."""
    wanted = ([focus] if focus else []) + _names(vs)
    if wanted:
        try:
            named = check_brands(known, wanted)
        except UnknownBrand as exc:
            errors.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=EXIT_UNKNOWN_BRAND) from exc
        if focus and named[0] in named[1:]:
            fail(f"{named[0]} is the focus brand: leave it out of --vs.")
        if focus and len(named) == 1:
            sizes = conversations["brand"].value_counts()
            others = [str(b) for b in sizes.index if b != named[0]]
            return named + others[: max(top - 1, 0)]
        return list(dict.fromkeys(named))
    return [str(b) for b in conversations["brand"].value_counts().index[:top]]


@dataclass(frozen=True)
class CliView:
    """What the options chose: the brands' conversations in the days and platform."""

    conversations: pd.DataFrame
    brands: list[str]
    settings: Settings
    start: date | None
    end: date | None


def _view(
    db: Path | None,
    brand_config: Path | None,
    sla_minutes: float,
    start: str | None,
    end: str | None,
    platform: str | None,
    focus: str | None,
    vs: str | None,
    top: int,
) -> CliView:
    """Read the store and pick the view the options describe (the sidebar's rules)."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if first and last and first > last:
        fail(f"--from {first} is after --to {last}.")
    settings = Settings(sla_seconds=sla_minutes * 60)
    try:
        analysis = analyse_store(db, settings, load_brand_config(brand_config))
    except CareBenchError as exc:
        fail(str(exc))
    conversations = analysis.conversations
    known = conversations["brand"]
    conversations = select_view(conversations, start=first, end=last, platform=platform)
    brands = _brands(conversations, focus, vs, top, known)
    chosen = conversations[conversations["brand"].isin(brands)]
    return CliView(chosen, brands, settings, first, last)


# -- figures ------------------------------------------------------------------------------


def _script_key(metric: agg.Metric) -> str:
    """The metric's key in CSV and JSON: its unit in the name, as in dashboard downloads."""
    if metric.unit == "minutes":
        return metric.column.removesuffix("_seconds") + "_minutes"
    return metric.column + "_pct"


def _script_value(value: float, metric: agg.Metric) -> float | None:
    shown = agg.display_value(value, metric.unit)
    return None if math.isnan(shown) else round(shown, 1)


def scorecard_records(card: pd.DataFrame) -> list[dict[str, Any]]:
    """Scorecard rows for scripts: times in minutes, rates in percent, 0.1 precision."""
    records = []
    for row in card.to_dict("records"):
        record: dict[str, Any] = {"brand": str(row["brand"])}
        if "period" in row:
            record["period"] = pd.Timestamp(row["period"]).date().isoformat()
        record["conversations"] = int(row["conversations"])
        record["small_sample"] = bool(row["small_sample"])
        for metric in agg.METRICS:
            key = _script_key(metric)
            for part in ("", "_low", "_high"):
                record[key + part] = _script_value(float(row[metric.column + part]), metric)
            record[key + "_n"] = int(row[metric.column + "_n"])
        records.append(record)
    return records


def _cell(value: float, unit: agg.DisplayUnit) -> str:
    return "—" if math.isnan(value) else f"{unit.of(value):,.1f}"


def _human_scorecard(card: pd.DataFrame, metrics: tuple[agg.Metric, ...]) -> pd.DataFrame:
    """Table and Markdown: each column in one unit chosen from its values, intervals in
    brackets, `*` beside a brand under the small-sample threshold."""
    out: dict[str, list[str]] = {"brand": [str(b) for b in card["brand"]]}
    if "period" in card:
        out["period"] = [pd.Timestamp(p).date().isoformat() for p in card["period"]]
    flags = [" *" if small else "" for small in card["small_sample"]]
    out["n"] = [f"{int(n):,}{flag}" for n, flag in zip(card["conversations"], flags, strict=True)]
    for metric in metrics:
        values = card[metric.column].astype(float)
        unit = agg.display_unit(metric, values)
        lows = card[metric.column + "_low"].astype(float)
        highs = card[metric.column + "_high"].astype(float)
        out[f"{metric.label} ({unit.symbol})"] = [
            _cell(v, unit)
            if math.isnan(v)
            else f"{_cell(v, unit)} [{_cell(lo, unit)}-{_cell(hi, unit)}]"
            for v, lo, hi in zip(values, lows, highs, strict=True)
        ]
    return pd.DataFrame(out)


def _print_frame(frame: pd.DataFrame, title: str, output: OutputFormat) -> None:
    if output is OutputFormat.markdown:
        console.print(_markdown(frame, title), highlight=False, soft_wrap=True, markup=False)
        return
    table = Table(title=title)
    for i, column in enumerate(frame.columns):
        table.add_column(escape(str(column)), justify="left" if i == 0 else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    console.print(table)


def _markdown(frame: pd.DataFrame, title: str) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [f"**{title}**", "", "| " + " | ".join(cell(c) for c in frame.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in frame.columns) + "|")
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def _view_meta(
    brands: list[str], start: date | None, end: date | None, platform: str | None, sla: float
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "brands": brands,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "platform": platform,
        "sla_minutes": sla,
    }


# -- commands ---------------------------------------------------------------------------


def scorecard_command(
    db: DbOption = None,
    brand_config: BrandConfigOption = None,
    brand: FocusOption = None,
    vs: VsOption = None,
    start: FromOption = None,
    end: ToOption = None,
    platform: PlatformOption = None,
    sla_minutes: SlaOption = 60.0,
    period: Annotated[
        Period | None, typer.Option("--period", help="Rows per brand and 'week' or 'month'.")
    ] = None,
    output: FormatOption = OutputFormat.table,
    top: Annotated[
        int, typer.Option(min=1, help="Without --brand/--vs: the N brands with most conversations.")
    ] = 15,
) -> None:
    """Print the headline figures per brand, largest brands first.

    Example: carebench scorecard --brand AmazonHelp --vs AppleSupport,Delta --format markdown
    """
    view = _view(db, brand_config, sla_minutes, start, end, platform, brand, vs, top)
    brands, settings, first, last = view.brands, view.settings, view.start, view.end
    chosen = view.conversations
    card = scorecard(chosen, settings, period=period)
    order = {b: i for i, b in enumerate(brands)}
    keys = ["brand", "period"] if period else ["brand"]
    card = card.sort_values(keys, key=lambda s: s.map(order) if s.name == "brand" else s)
    if output is OutputFormat.json:
        payload = {
            **_view_meta(brands, first, last, platform, sla_minutes),
            "rows": scorecard_records(card),
        }
        console.print_json(json.dumps(payload))
    elif output is OutputFormat.csv:
        _print_csv(pd.DataFrame(scorecard_records(card)))
    else:
        title = (
            f"Scorecard, SLA {sla_minutes:g} min (95% intervals in brackets; * = under "
            f"{settings.min_sample} conversations)"
        )
        _print_frame(_human_scorecard(card, agg.TILE_METRICS), title, output)


def compare_command(
    brand: Annotated[str, typer.Option("--brand", help="The focus brand.")],
    vs: VsOption = None,
    db: DbOption = None,
    brand_config: BrandConfigOption = None,
    start: FromOption = None,
    end: ToOption = None,
    platform: PlatformOption = None,
    sla_minutes: SlaOption = 60.0,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Compare a focus brand with competitors on every metric: real difference or noise.

    Each metric: the focus brand's figure with its 95% interval and n, the competitors'
    median, the difference with its interval and the verdict (better, worse, within
    noise), then the verdict against each competitor. Exit 4 when the samples are too
    small for any verdict.

    Example: carebench compare --brand AmazonHelp --vs AppleSupport,Delta --format json
    """
    view = _view(db, brand_config, sla_minutes, start, end, platform, brand, vs, 6)
    brands, settings, first, last = view.brands, view.settings, view.start, view.end
    focus, competitors = brands[0], tuple(brands[1:])
    if not competitors:
        fail(f"Nothing to compare {focus} with: name competitors with --vs.")
    card = scorecard(view.conversations, settings)
    rows = comparison_rows(card, focus, competitors)
    sizes = card.set_index("brand")["conversations"]
    too_small = sizes.get(focus, 0) < settings.min_sample or all(
        sizes.get(b, 0) < settings.min_sample for b in competitors
    )
    if output is OutputFormat.json:
        payload = {
            **_view_meta(brands, first, last, platform, sla_minutes),
            "focus": focus,
            "competitors": list(competitors),
            "conversations": {b: int(sizes.get(b, 0)) for b in brands},
            "too_small": too_small,
            "metrics": rows,
        }
        console.print_json(json.dumps(payload))
    elif output is OutputFormat.csv:
        flat = pd.json_normalize(rows, sep="_")
        _print_csv(flat)
    else:
        title = (
            f"{focus} vs {', '.join(competitors)} (peers = the competitors' median; "
            f"SLA {sla_minutes:g} min; 95% intervals in brackets)"
        )
        _print_frame(_human_comparison(card, focus, competitors), title, output)
    if too_small:
        counts = ", ".join(f"{b} {int(sizes.get(b, 0)):,}" for b in brands)
        errors.print(
            f"Too few conversations to compare ({counts}; a verdict needs "
            f"{settings.min_sample} per brand). Widen the dates or pick larger brands.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=EXIT_TOO_SMALL)


def _print_csv(frame: pd.DataFrame) -> None:
    console.print(csv_text(frame), end="", markup=False, highlight=False, soft_wrap=True)


def _flip(verdict: str) -> str:
    """`verdict_matrix` says how a competitor does against the focus brand; a comparison
    row says how the focus brand does against it."""
    return {"better": "worse", "worse": "better"}.get(verdict, verdict)


def _fixed(value: float, metric: agg.Metric) -> float | None:
    """A figure for scripts: minutes or percent, 0.1 precision, null when unknown."""
    if value is None or math.isnan(value):
        return None
    return round(agg.display_value(value, metric.unit), 1) + 0.0  # never -0.0


def comparison_rows(
    card: pd.DataFrame, focus: str, competitors: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Every metric, focus brand vs the competitors' median and vs each competitor.

    The verdicts are the Scorecard page's: `aggregates.kpi_tiles` (its tiles and its
    focus-vs-peers table) and `aggregates.verdict_matrix` (its brand x metric table).
    """
    matrix = agg.verdict_matrix(card, focus).set_index("Brand")
    rows = []
    for tile in agg.kpi_tiles(card, focus, competitors, agg.METRICS):
        metric = tile.metric
        result = tile.comparison
        rows.append(
            {
                "metric": _script_key(metric),
                "label": metric.label,
                "unit": "pct" if metric.unit == "share" else "minutes",
                "better": metric.better,
                "focus": {
                    "value": _fixed(tile.value, metric),
                    "low": _fixed(tile.low, metric),
                    "high": _fixed(tile.high, metric),
                    "n": int(tile.n),
                },
                "peers_median": _fixed(tile.peer_median, metric),
                # A difference of rates is in percentage points; of times, in minutes.
                "difference": {
                    "value": _fixed(result.difference, metric),
                    "low": _fixed(result.low, metric),
                    "high": _fixed(result.high, metric),
                },
                "verdict": str(result.verdict),
                "vs": {
                    b: _flip(str(matrix.loc[b, metric.label]))
                    if b in matrix.index
                    else "not enough data"
                    for b in competitors
                },
            }
        )
    return rows


def _human_comparison(card: pd.DataFrame, focus: str, competitors: tuple[str, ...]) -> pd.DataFrame:
    """The comparison for a person: each metric in the unit its figures read best in."""
    matrix = agg.verdict_matrix(card, focus).set_index("Brand")
    lines = []
    for tile in agg.kpi_tiles(card, focus, competitors, agg.METRICS):
        unit = agg.display_unit(tile.metric, [tile.value, tile.peer_median])
        result = tile.comparison
        gap = "pp" if unit.symbol == "%" else unit.symbol

        def signed(value: float, unit: agg.DisplayUnit = unit, gap: str = gap) -> str:
            return "—" if math.isnan(value) else f"{unit.of(value):+,.1f} {gap}"

        line = {
            "metric": f"{tile.metric.label} ({unit.symbol})",
            focus: f"{_cell(tile.value, unit)} [{_cell(tile.low, unit)}-{_cell(tile.high, unit)}]",
            "n": f"{int(tile.n):,}",
            "peers": _cell(tile.peer_median, unit),
            "difference": f"{signed(result.difference)} "
            f"[{signed(result.low)} to {signed(result.high)}]",
            "verdict": str(result.verdict),
        }
        for b in competitors:
            label = tile.metric.label
            line[f"vs {b}"] = (
                _flip(str(matrix.loc[b, label])) if b in matrix.index else "not enough data"
            )
        lines.append(line)
    return pd.DataFrame(lines)
