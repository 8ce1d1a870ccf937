"""Aggregates -> Altair charts in one house style, and how pages show charts and tables.

Chart builders (`*_chart`) take the small tables of `aggregates` and return specs;
tests read `chart.to_dict()`. `show_chart` and `show_table` are the only two ways a
page puts a figure on screen, so every chart gets PNG/SVG downloads and every table a
CSV download. The style is applied at render time (not in the builders) so builders
can still be layered, and so the PNG a consultant downloads looks like the screen.
"""

from __future__ import annotations

import functools
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

import altair as alt
import numpy as np
import pandas as pd

from carebench.benchmark.csv_safety import csv_text
from carebench.dashboard import aggregates as agg
from carebench.dashboard.aggregates import LOG_FLOOR_MINUTES, MINUTES, DisplayUnit

# Re-exported: pages import the escaping helpers from here too.
from carebench.dashboard.escaping import code as code
from carebench.dashboard.escaping import md as md

if TYPE_CHECKING:
    import streamlit as st

    from carebench.dashboard.data import View
else:

    class _Streamlit:
        """streamlit, imported on first use: the workshop report draws these charts
        (`carebench report`) without loading streamlit, and only the functions that
        show something on a page (`show_chart`, `show_table`) need it."""

        def __getattr__(self, name: str) -> Any:
            import streamlit

            return getattr(streamlit, name)

    st = _Streamlit()

# What the builders return and `show_chart` accepts (Altair's top-level chart types).
AnyChart: TypeAlias = (
    alt.Chart
    | alt.LayerChart
    | alt.FacetChart
    | alt.ConcatChart
    | alt.HConcatChart
    | alt.VConcatChart
    | alt.RepeatChart
)

# Brand colours, dealt out over every brand in the store, largest first (see
# `brand_colours`), so a brand keeps its colour on every page and in every selection,
# and the brands people compare (the big ones) never share one. Tableau's 20, reordered
# so the first ten differ most; dark enough for a projector.
PALETTE: tuple[str, ...] = (
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#B07AA1",
    "#76B7B2",
    "#9C755F",
    "#B6992D",
    "#FF9DA7",
    "#79706E",
    "#2F4B7C",
    "#8CD17D",
    "#D37295",
    "#499894",
    "#FABFD2",
    "#A0CBE8",
    "#D4A6C8",
    "#BAB0AC",
    "#F1CE63",
    "#86BCB6",
)
# The focus brand stands out by weight, never by a colour of its own (it would change
# colour when it becomes a competitor): thicker, opaque; the others thinner, muted.
FOCUS_STROKE, OTHER_STROKE = 5.0, 2.5
FOCUS_OPACITY, OTHER_OPACITY = 1.0, 0.55
OUTCOME_COLOURS = {
    "resolved": "#4E9A52",
    "unresolved": "#D6452F",
    "unknown": "#B8B8B8",
    "unanswered": "#555555",
}
# Tables longer than this show their head on screen; the CSV download has every row.
MAX_TABLE_ROWS = 500
# Width for exported images of charts that fill the page width on screen.
EXPORT_WIDTH = 1000
# Streamlit's own typeface ("Source Sans", served by the app itself), so chart titles and
# labels match the page; exports fall back to the system sans when it is not installed.
FONT = '"Source Sans", "Source Sans 3", "Source Sans Pro", "Helvetica Neue", Arial, sans-serif'


def style(chart: AnyChart) -> AnyChart:
    """The house style: big type for projectors, titles left, no chart border."""
    # fit-x: the chart takes the page width, and its declared height is the plot's own
    # height. (Streamlit's default, "fit", squeezes the plot to make room for titles
    # and legends inside the declared height.)
    sized = chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    styled = (
        sized.configure(font=FONT, padding=12)
        .configure_title(
            font=FONT,
            subtitleFont=FONT,
            fontSize=22,
            subtitleFontSize=16,
            subtitleColor="#555555",
            anchor="start",
            offset=14,
            fontWeight="bold",
        )
        .configure_axis(
            labelFont=FONT,
            titleFont=FONT,
            labelFontSize=15,
            titleFontSize=16,
            titleFontWeight="normal",
            titleColor="#333333",
            labelColor="#333333",
            labelLimit=280,
            gridColor="#E6E6E6",
        )
        .configure_legend(
            labelFont=FONT,
            titleFont=FONT,
            labelFontSize=15,
            titleFontSize=15,
            titleFontWeight="normal",
            symbolSize=160,
            labelLimit=280,
        )
        .configure_header(labelFontSize=16, titleFontSize=16)
        .configure_view(stroke=None)
    )
    return cast(AnyChart, _unchecked(styled))


def _unchecked(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The chart, turned into its spec without checking it against the Vega-Lite schema.

    Streamlit turns every chart into its spec on every page run, and the schema check
    (jsonschema) took ~4/5 of that: 20-70 ms a chart, up to a fifth of a second a page.
    The specs are checked in the tests instead (every page's charts against the schema,
    tests/test_dashboard_app.py), where a bad one fails the build rather than a page.
    """
    # Altair's own __setattr__ files attributes as chart properties: set it on the object.
    object.__setattr__(
        chart, "to_dict", functools.partial(type(chart).to_dict, chart, validate=False)
    )
    return chart


def title(text: str, subtitle: str | Sequence[str] | None = None) -> alt.TitleParams:
    """A chart title saying what is compared, with n (and caveats) in the subtitle."""
    if subtitle is None:
        return alt.TitleParams(text)
    return alt.TitleParams(text, subtitle=subtitle)


def n_lines(counts: Mapping[Any, Any], label: str, per_line: int = 4) -> list[str]:
    """'n answered: A 170, B 102, ...' over as many subtitle lines as it needs."""
    items = [f"{brand} {int(n):,}" for brand, n in counts.items()]
    lines = []
    for start in range(0, len(items), per_line):
        chunk = ", ".join(items[start : start + per_line])
        lines.append(f"{label}: {chunk}" if start == 0 else chunk)
    return lines or [f"{label}: none"]


def brand_colours(all_brands: Sequence[str]) -> dict[str, str]:
    """Brand -> colour for every brand of a store: the palette dealt in the given order.

    Pass every brand the store holds, largest first (`FilterOptions.brands`), not the
    brands on screen: a brand's colour then depends on nothing the user picks, so it is
    the same on every page whatever the focus, the competitors or their order, and the
    twenty largest brands all differ. Only an import can move a colour.
    """
    names = list(dict.fromkeys(str(b) for b in all_brands))
    return {b: PALETTE[i % len(PALETTE)] for i, b in enumerate(names)}


def brand_colour(brand: str, colours: Mapping[str, str] | None = None) -> str:
    """One brand's colour: from `colours`, else a hash of its name (stable too)."""
    if colours and brand in colours:
        return colours[brand]
    return PALETTE[zlib.crc32(brand.encode()) % len(PALETTE)]


def brand_scale(brands: Sequence[str], colours: Mapping[str, str] | None = None) -> alt.Scale:
    """Brand -> colour over the brands shown, each in its own stable colour."""
    return alt.Scale(domain=list(brands), range=[brand_colour(b, colours) for b in brands])


def _is_focus(brands: Sequence[str]) -> str:
    """A Vega expression true on the focus brand's marks (the first brand)."""
    return f"datum.brand === {json.dumps(str(brands[0]))}" if brands else "false"


def _brand_legend(brands: Sequence[str]) -> alt.Legend:
    """The brand legend: line swatches, the focus brand marked, at the foot of the chart.

    Every layer that colours by brand must carry this same legend: Vega-Lite merges the
    layers' legends and one layer without a legend removes it from them all.
    """
    focus = json.dumps(str(brands[0])) if brands else "''"
    return alt.Legend(
        orient="bottom",
        columns=4,
        symbolType="stroke",
        symbolStrokeWidth=5,
        symbolOpacity=1,
        symbolSize=400,
        labelExpr=f"datum.label === {focus} ? datum.label + ' (focus)' : datum.label",
    )


def _brand_colour(
    brands: Sequence[str], legend: bool = True, colours: Mapping[str, str] | None = None
) -> alt.Color:
    return alt.Color(
        "brand:N",
        title="Brand",
        scale=brand_scale(brands, colours),
        legend=_brand_legend(brands) if legend else None,
    )


def _focus_width(brands: Sequence[str]) -> Any:
    return alt.condition(_is_focus(brands), alt.value(FOCUS_STROKE), alt.value(OTHER_STROKE))


def _focus_opacity(brands: Sequence[str], other: float = OTHER_OPACITY) -> Any:
    return alt.condition(_is_focus(brands), alt.value(FOCUS_OPACITY), alt.value(other))


def _hollow_when_small(
    flag: str,
    brands: Sequence[str],
    colours: Mapping[str, str] | None = None,
    legend: bool = False,
) -> Any:
    """Brand-coloured fill, white (a hollow mark) where the `flag` field says small sample."""
    return alt.condition(
        f"datum.{flag}",
        alt.value("white"),
        alt.Fill(
            "brand:N",
            title="Brand",
            scale=brand_scale(brands, colours),
            legend=_brand_legend(brands) if legend else None,
        ),
    )


def _interval_tooltips(value: str, title: str, n_title: str = "n") -> list[alt.Tooltip]:
    """Tooltips for a figure with its 95% interval and sample size."""
    return [
        alt.Tooltip(value, title=title, format=".1f"),
        alt.Tooltip("low:Q", title="95% low", format=".1f"),
        alt.Tooltip("high:Q", title="95% high", format=".1f"),
        alt.Tooltip("n:Q", title=n_title),
    ]


# -- builders ------------------------------------------------------------------------------


def interval_chart(
    table: pd.DataFrame,
    brands: Sequence[str],
    heading: alt.TitleParams,
    axis_title: str,
    *,
    colours: Mapping[str, str] | None = None,
    log: bool = False,
    time_unit: DisplayUnit | None = None,
) -> AnyChart:
    """One row per brand: the figure as a dot, its 95% interval as a bar.

    `table` is `aggregates.interval_table` (display units); hollow dots mark small
    samples, the figure is printed beside each dot. The focus brand (first of `brands`)
    is drawn bigger and its name bold, the others muted. `log` draws a log axis, for
    times whose figures are far apart (`aggregates.wide_spread`); with the `time_unit`
    the table is in, its ticks are times people know (1 min, 1 h, 1 day...).
    """
    order = table.sort_values("value")["brand"].tolist()
    focus = json.dumps(str(brands[0])) if brands else "''"
    # Padding keeps a name clear of a dot sitting at zero.
    y = alt.Y(
        "brand:N",
        sort=order,
        title=None,
        axis=alt.Axis(
            labelFontWeight=cast(
                Any,
                {
                    "condition": {"test": f"datum.value === {focus}", "value": "bold"},
                    "value": "normal",
                },
            ),
            labelPadding=12,
            ticks=False,
            domain=False,
        ),
    )
    data = table
    scale = alt.Scale(zero=True)
    if log:
        # A log axis has no zero: figures and bounds below the smallest figure's tenth
        # are drawn at it.
        floor = float(table["value"][table["value"] > 0].min()) / 10
        data = table.assign(**{c: table[c].clip(lower=floor) for c in ("low", "high", "value")})
        scale = alt.Scale(type="log", zero=False, nice=False)
    base = alt.Chart(data).encode(y=y)
    axis = alt.Axis(tickCount=8)
    if log and time_unit is not None:
        axis = _time_axis(data, time_unit)
    rule = base.mark_rule(strokeWidth=4).encode(
        x=alt.X("low:Q", title=axis_title, scale=scale, axis=axis),
        x2="high:Q",
        color=_brand_colour(brands, legend=False, colours=colours),
        opacity=_focus_opacity(brands, other=0.3) if brands else alt.value(0.45),
        strokeWidth=_focus_width(brands),
    )
    dots = base.mark_point(strokeWidth=3).encode(
        x="value:Q",
        color=_brand_colour(brands, legend=False, colours=colours),
        fill=_hollow_when_small("small", brands, colours),
        size=alt.condition(_is_focus(brands), alt.value(360), alt.value(200)),
        opacity=_focus_opacity(brands, other=0.75),
        tooltip=[
            alt.Tooltip("brand:N", title="Brand"),
            *_interval_tooltips("value:Q", axis_title),
        ],
    )
    text = alt.Text("text:N") if "text" in table else alt.Text("value:Q", format=".1f")
    labels = base.mark_text(align="left", dx=12, dy=-12, fontSize=15).encode(x="value:Q", text=text)
    return alt.layer(rule, dots, labels, title=heading).properties(height=alt.Step(44))


def _time_axis(table: pd.DataFrame, unit: DisplayUnit) -> alt.Axis:
    """A log time axis whose ticks are the familiar times within the table's range,
    each labelled in its own unit, for figures given in `unit`."""
    values = table[["low", "value", "high"]].to_numpy(dtype=float).ravel()
    values = values[np.isfinite(values) & (values > 0)]
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 0.0)
    ticks = [
        (m * 60 / unit.per_unit, _minutes_label(m))
        for m in (1 / 6, 0.5, *TIME_TICKS_MINUTES[1:], 4 * 10080)
        if low <= m * 60 / unit.per_unit <= high * 1.01
    ]
    if len(ticks) < 2:
        return alt.Axis(tickCount=8)
    # Exact matches: the axis is given these very values.
    expression = " : ".join(f"datum.value === {v!r} ? {label!r}" for v, label in ticks) + " : ''"
    # Few ticks, chosen not to crowd: every one keeps its label.
    return alt.Axis(
        values=[v for v, _ in ticks], labelExpr=expression, grid=True, labelOverlap=False
    )


ECDF_HEIGHT = 420
# Log-axis ticks a reader knows, in minutes.
TIME_TICKS_MINUTES: tuple[float, ...] = (0.1, 1, 5, 15, 60, 240, 1440, 10080)
_TIME_LABELS = (
    "datum.value < 1 ? '6 s' : datum.value < 60 ? datum.value + ' min' : "
    "datum.value < 1440 ? datum.value / 60 + ' h' : datum.value < 10080 ? "
    "datum.value / 1440 + ' day' : datum.value / 10080 + ' week'"
)


def ecdf_chart(
    ecdf: pd.DataFrame,
    brands: Sequence[str],
    sla_minutes: int,
    heading: alt.TitleParams,
    *,
    colours: Mapping[str, str] | None = None,
) -> AnyChart:
    """Share of answered conversations answered within t, per brand, log time axis.

    The axis labels each tick in its own unit (s, min, h, day, week).
    """
    longest = float(ecdf["minutes"].max()) if len(ecdf) else 60.0
    upper = min(max(longest, float(sla_minutes)) * 1.5, 4 * 10080)
    ticks = [t for t in TIME_TICKS_MINUTES if t <= upper]
    # The tooltip says each time in its own unit ("45 s", "3.2 h"), like the tiles.
    data = ecdf.assign(waited=[agg.format_duration(m * 60) for m in ecdf["minutes"]])
    lines = (
        alt.Chart(data)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X(
                "minutes:Q",
                title="Time to first response (log scale)",
                scale=alt.Scale(type="log", domain=[LOG_FLOOR_MINUTES, upper], clamp=True),
                axis=alt.Axis(values=ticks, labelExpr=_TIME_LABELS),
            ),
            y=alt.Y(
                "share:Q",
                title="Answered within t",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=_brand_colour(brands, colours=colours),
            strokeWidth=_focus_width(brands),
            opacity=_focus_opacity(brands),
            tooltip=[
                alt.Tooltip("brand:N", title="Brand"),
                alt.Tooltip("waited:N", title="Within"),
                alt.Tooltip("share:Q", title="Answered by then", format=".0%"),
                alt.Tooltip("n:Q", title="n answered"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"minutes": [sla_minutes], "label": ["SLA"]}))
        .mark_rule(strokeDash=[6, 4], color="#333333", strokeWidth=2)
        .encode(x="minutes:Q")
    )
    # The label sits at the foot of the rule, where the curves have not risen yet.
    text = rule.mark_text(align="left", dx=6, y=ECDF_HEIGHT - 12, fontSize=15, color="#333333")
    text = text.encode(text="label:N")
    return alt.layer(lines, rule, text, title=heading).properties(height=ECDF_HEIGHT)


def sla_curve_chart(
    curve: pd.DataFrame,
    brands: Sequence[str],
    sla_minutes: int,
    heading: alt.TitleParams,
    *,
    colours: Mapping[str, str] | None = None,
) -> AnyChart:
    """Share answered within each SLA checkpoint, per brand, with 95% intervals."""
    labels = {m: _minutes_label(m) for m in curve["minutes"].unique()}
    data = curve.assign(checkpoint=curve["minutes"].map(labels))
    order = [labels[m] for m in sorted(labels)]
    x = alt.X("checkpoint:O", sort=order, title="Answered within", axis=alt.Axis(labelAngle=0))
    base = alt.Chart(data).encode(x=x)
    # Both layers carry the same legend (Vega-Lite drops a merged legend when one layer
    # has none); its swatches are opaque lines whatever the faint bars look like.
    bars = base.mark_rule(strokeWidth=3, opacity=0.35).encode(
        y=alt.Y("low:Q", title="Share of answered conversations (%)"),
        y2="high:Q",
        color=_brand_colour(brands, colours=colours),
    )
    line = base.mark_line(point=alt.OverlayMarkDef(size=90)).encode(
        y=alt.Y("share:Q", scale=alt.Scale(domain=[0, 100])),
        color=_brand_colour(brands, colours=colours),
        strokeWidth=_focus_width(brands),
        opacity=_focus_opacity(brands),
        tooltip=[
            alt.Tooltip("brand:N", title="Brand"),
            alt.Tooltip("checkpoint:O", title="Within"),
            *_interval_tooltips("share:Q", "Share (%)", n_title="n answered"),
        ],
    )
    layers: list[Any] = [bars, line]
    if _minutes_label(sla_minutes) in order:
        mark = pd.DataFrame({"checkpoint": [_minutes_label(sla_minutes)]})
        layers.append(
            alt.Chart(mark)
            .mark_rule(strokeDash=[6, 4], color="#333333", strokeWidth=2)
            .encode(x=alt.X("checkpoint:O", sort=order))
        )
    return alt.layer(*layers, title=heading).properties(height=380)


def _minutes_label(minutes: float) -> str:
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 60:
        return f"{minutes:g} min"
    if minutes < 1440:
        return f"{minutes / 60:g} h"
    if minutes < 10080:
        days = minutes / 1440
        return f"{days:g} day" + ("" if days == 1 else "s")
    weeks = minutes / 10080
    return f"{weeks:g} week" + ("" if weeks == 1 else "s")


def hour_of_week_chart(
    cells: pd.DataFrame,
    field: str,
    legend_title: str,
    heading: alt.TitleParams,
    *,
    time_unit: DisplayUnit = MINUTES,
) -> AnyChart:
    """Day x hour heatmap of one figure (volume, median TTFR or SLA share).

    The median TTFR is shown in `time_unit` (the page picks it from the data).
    """
    reverse = field == "median_minutes"  # slow hours should look hot
    median_title = f"Median TTFR ({time_unit.symbol})"
    cells = cells.assign(median_time=cells["median_minutes"] * 60 / time_unit.per_unit)
    if field == "median_minutes":
        field = "median_time"
    scale = alt.Scale(scheme="orangered" if reverse else "blues")
    if field == "sla_percent":
        scale = alt.Scale(scheme="redyellowgreen", domain=[0, 100])
    return (
        alt.Chart(cells, title=heading)
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=alt.X(
                "hour:O",
                title="Hour of day the customer posted (brand time zone)",
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y(
                "day:N",
                sort=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                title=None,
            ),
            color=alt.Color(
                f"{field}:Q",
                title=legend_title,
                scale=scale,
                legend=alt.Legend(orient="right", gradientLength=220),
            ),
            tooltip=[
                alt.Tooltip("day:N", title="Day"),
                alt.Tooltip("hour:O", title="Hour"),
                alt.Tooltip("conversations:Q", title="Conversations"),
                alt.Tooltip("answered:Q", title="Answered"),
                alt.Tooltip("median_time:Q", title=median_title, format=".1f"),
                alt.Tooltip("sla_percent:Q", title="Within SLA (%)", format=".0f"),
            ],
        )
        .properties(height=alt.Step(40))
    )


def _share_grid(
    table: pd.DataFrame,
    brands: Sequence[str],
    heading: alt.TitleParams,
    column: tuple[str, str, list[str], alt.Axis],
    share: tuple[str, alt.Scale, float],
    counts: tuple[tuple[str, str], tuple[str, str]],
) -> AnyChart:
    """A brand x category grid of shares (percent), each cell with its figure written in.

    `column`: the category field, its tooltip title, its order and its axis; `share`: the
    share's title, the colour scale and the share above which the figure turns white;
    `counts`: the two count fields of the tooltip with their titles. The cells are the
    first layer (a clickable page adds its selection there).
    """
    field, field_title, order, axis = column
    share_title, scale, dark_above = share
    base = alt.Chart(table).encode(
        x=alt.X(f"{field}:N", title=None, sort=order, axis=axis),
        y=alt.Y("brand:N", sort=list(brands), title=None, axis=alt.Axis(labelFontWeight="bold")),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("share:Q", title=share_title, scale=scale, legend=None),
        tooltip=[
            alt.Tooltip("brand:N", title="Brand"),
            alt.Tooltip(f"{field}:N", title=field_title),
            alt.Tooltip("share:Q", title=share_title, format=".1f"),
            *(alt.Tooltip(f"{name}:Q", title=name_title) for name, name_title in counts),
        ],
    )
    text = base.mark_text(fontSize=16).encode(
        text=alt.Text("share:Q", format=".0f"),
        color=alt.condition(
            f"datum.share > {dark_above:g}", alt.value("white"), alt.value("#222222")
        ),
    )
    return alt.layer(cells, text, title=heading).properties(height=alt.Step(44))


def channel_chart(mix: pd.DataFrame, brands: Sequence[str], heading: alt.TitleParams) -> AnyChart:
    """Brand x channel grid: where each brand sends the customers it deflects."""
    return _share_grid(
        mix,
        brands,
        heading,
        (
            "channel",
            "Channel",
            ["DM", "Phone", "E-mail", "Web / form", "Store", "Other account"],
            alt.Axis(orient="top", labelAngle=0),
        ),
        ("Share of deflected (%)", alt.Scale(scheme="oranges", domain=[0, 100]), 55),
        (("conversations", "Conversations"), ("n", "Deflected conversations")),
    )


def outcome_chart(
    shares: pd.DataFrame, brands: Sequence[str], heading: alt.TitleParams, y_field: str = "brand"
) -> AnyChart:
    """Stacked 100% bars of the four public outcomes, one bar per brand (or path)."""
    order = list(OUTCOME_COLOURS)
    data = shares.assign(order=shares["outcome"].map({o: i for i, o in enumerate(order)}))
    y_sort = list(brands) if y_field == "brand" else None
    base = alt.Chart(data).encode(
        y=alt.Y(f"{y_field}:N", sort=y_sort, title=None, axis=alt.Axis(labelFontWeight="bold")),
        x=alt.X(
            "share:Q",
            stack="zero",
            title="Share of care requests (%)",
            scale=alt.Scale(domain=[0, 100]),
            axis=alt.Axis(values=[0, 20, 40, 60, 80, 100]),
        ),
        order=alt.Order("order:Q"),
    )
    bars = base.mark_bar(height=30).encode(
        color=alt.Color(
            "outcome:N",
            title="Outcome",
            scale=alt.Scale(domain=order, range=list(OUTCOME_COLOURS.values())),
            legend=alt.Legend(orient="bottom"),
        ),
        tooltip=[
            alt.Tooltip(f"{y_field}:N"),
            alt.Tooltip("outcome:N", title="Outcome"),
            alt.Tooltip("share:Q", title="Share (%)", format=".1f"),
            alt.Tooltip("conversations:Q", title="Conversations"),
            alt.Tooltip("n:Q", title="n"),
        ],
    )
    text = (
        base.mark_text(dx=-6, align="right", fontSize=14, color="white")
        .encode(text=alt.Text("share:Q", format=".0f"))
        .transform_filter("datum.share >= 8")
    )
    return alt.layer(bars, text, title=heading).properties(height=alt.Step(42))


def trend_chart(
    trend: pd.DataFrame,
    brands: Sequence[str],
    axis_title: str,
    heading: alt.TitleParams,
    *,
    period: agg.Period = "week",
    colours: Mapping[str, str] | None = None,
    domain: tuple[float, float] | None = None,
    log: bool = False,
) -> AnyChart:
    """A figure per brand and period: a line, its 95% interval as a band.

    `trend` is `aggregates.trend_table`. Reliable periods are filled points joined by a
    solid line over a band; small-sample and partial periods are hollow points reached
    by a dashed line, with no band; an empty period breaks the line (lines follow the
    table's `run` and `solid_run`). `domain` (`aggregates.trend_domain`) keeps a
    one-case period from setting the y-axis: figures beyond it are pinned to its edge.
    """
    monthly = period == "month"
    x = alt.X(
        "period:T",
        title="Month (UTC)" if monthly else "Week (starting Monday, UTC)",
        # One tick (and grid line) per period, not per day.
        axis=alt.Axis(
            format="%b %Y" if monthly else "%d %b %Y",
            labelAngle=0,
            tickCount=cast(Any, "month" if monthly else "week"),
        ),
    )
    scale_type: Literal["log", "linear"] = "log" if log else "linear"
    if domain is not None:
        scale = alt.Scale(type=scale_type, domain=list(domain), clamp=True, zero=False, nice=False)
    else:
        scale = alt.Scale(type=scale_type, zero=False)
    y = alt.Y("value:Q", title=axis_title, scale=scale)
    colour = _brand_colour(brands, colours=colours)
    base = alt.Chart(trend).encode(x=x)
    reliable = base.transform_filter("datum.reliable")
    band = reliable.mark_area(opacity=0.12).encode(
        y=alt.Y("low:Q", title=axis_title, scale=scale),
        y2="high:Q",
        color=colour,
        detail="solid_run:N",
    )
    dashed = base.mark_line(strokeDash=[5, 5], strokeWidth=2).encode(
        y=y, color=colour, detail="run:N", opacity=_focus_opacity(brands)
    )
    solid = reliable.mark_line().encode(
        y=y,
        color=colour,
        detail="solid_run:N",
        strokeWidth=_focus_width(brands),
        opacity=_focus_opacity(brands),
    )
    when = "%b %Y" if monthly else "%d %b %Y"
    points = base.mark_point(strokeWidth=2.5).encode(
        y=y,
        color=colour,
        fill=_hollow_when_small("hollow", brands, colours, legend=True),
        size=alt.condition(_is_focus(brands), alt.value(150), alt.value(90)),
        opacity=_focus_opacity(brands),
        tooltip=[
            alt.Tooltip("brand:N", title="Brand"),
            alt.Tooltip("period:T", title="Month" if monthly else "Week of", format=when),
            *_interval_tooltips("value:Q", axis_title),
            alt.Tooltip("small_sample:N", title="Small sample"),
            alt.Tooltip("partial:N", title="Partial period"),
        ],
    )
    return alt.layer(band, dashed, solid, points, title=heading).properties(height=420)


# -- showing ----------------------------------------------------------------------------------


def slug(name: str) -> str:
    """A file-name and widget-key safe version of a chart or table name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "chart"


def export_meta(view: View) -> list[str]:
    """What an exported image must say about the data behind it: the period, the SLA,
    how many conversations and where they come from. One line each for the first two,
    so a slide read without the dashboard still says what it shows."""
    filters = view.filters
    # Imported here: filters imports this module.
    from carebench.dashboard.filters import format_sla

    if view.is_demo:
        source = "generated demo data (not real brands)"
    else:
        imports = view.loaded.imports
        names = sorted(
            {str(s).replace("\\", "/").rsplit("/", 1)[-1] for s in imports.get("source", [])}
        )
        formats = sorted({str(c) for c in imports.get("collector", [])})
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        source = f"{shown} ({', '.join(formats)})" if names else "no import recorded"
    platform = f" · platform {filters.platform}" if filters.platform else ""
    return [
        f"Period {filters.start:%d %b %Y} – {filters.end:%d %b %Y} (UTC){platform} · "
        f"SLA {format_sla(filters.sla_minutes)} · n = {len(view.conversations):,} conversations",
        f"Source: {source} · CareBench",
    ]


def with_meta(chart: AnyChart, meta: Sequence[str] | None) -> AnyChart:
    """The chart with `meta` lines added under its title's subtitle (for exports)."""
    if not meta:
        return chart
    heading = chart.title if isinstance(chart.title, alt.TitleParams) else None
    if heading is None:
        text = chart.title if isinstance(chart.title, str) else ""
        return cast(AnyChart, chart.properties(title=alt.TitleParams(text, subtitle=list(meta))))
    subtitle = heading.subtitle
    lines: list[str]
    if isinstance(subtitle, str):
        lines = [subtitle]
    elif isinstance(subtitle, list | tuple):
        lines = [str(x) for x in subtitle]
    else:
        lines = []
    dict_title = heading.to_dict()
    dict_title["subtitle"] = [*lines, *meta]
    return cast(AnyChart, chart.properties(title=alt.TitleParams(**dict_title)))


def export_spec(chart: AnyChart, meta: Sequence[str] | None = None) -> str:
    """The styled chart as Vega-Lite JSON, with a fixed width for image export, and the
    `meta` lines (period, SLA, n, source: `export_meta`) in its subtitle."""
    styled = style(with_meta(chart, meta))
    spec = styled.to_dict()
    if "width" not in spec and "facet" not in spec and "hconcat" not in spec:
        spec["width"] = EXPORT_WIDTH
    return json.dumps(spec)


def chart_png(chart: AnyChart, meta: Sequence[str] | None = None) -> bytes:
    """The chart as a PNG at twice the screen resolution (sharp on slides)."""
    import vl_convert

    return bytes(vl_convert.vegalite_to_png(export_spec(chart, meta), scale=2))


def chart_svg(chart: AnyChart, meta: Sequence[str] | None = None) -> str:
    """The chart as SVG (vector, for reports)."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(export_spec(chart, meta)))


def show_chart(chart: AnyChart, name: str, *, meta: Sequence[str] | None = None) -> None:
    """Render a chart in the house style, with PNG and SVG downloads.

    `meta` (`export_meta(view)`) is printed in the exported images, not on screen,
    where the page and the sidebar already say it.
    """
    st.altair_chart(style(chart), theme=None, width="stretch")
    chart_downloads(chart, name, meta)


def chart_downloads(chart: AnyChart, name: str, meta: Sequence[str] | None = None) -> None:
    """The PNG and SVG buttons under a chart (also under the clickable ones)."""
    key = slug(name)
    left, right, _ = st.columns([1, 1, 6])
    # Images are made only when asked for (a callable is run on click), so a page
    # with six charts does not render twelve images on every filter change.
    left.download_button(
        "PNG",
        data=lambda: chart_png(chart, meta),
        file_name=f"{key}.png",
        mime="image/png",
        key=f"png-{key}",
        on_click="ignore",
        icon=":material/download:",
    )
    right.download_button(
        "SVG",
        data=lambda: chart_svg(chart, meta),
        file_name=f"{key}.svg",
        mime="image/svg+xml",
        key=f"svg-{key}",
        on_click="ignore",
        icon=":material/download:",
    )


def table_csv(df: pd.DataFrame) -> str:
    """A table as CSV text, written exactly as the CLI export writes it: booleans
    true/false, ISO UTC times, and text cells a spreadsheet would run as a formula
    prefixed with `'` (see `carebench.benchmark.csv_safety`). Every dashboard CSV
    download goes through here.
    """
    return csv_text(df)


def show_table(
    df: pd.DataFrame,
    name: str,
    *,
    column_config: dict[str, Any] | None = None,
    height: int | None = None,
) -> None:
    """Render a table (its head when long) with a CSV download of every row.

    Text cells are rendered as plain text by the dataframe widget, never as HTML or
    markdown, so post text is safe here.
    """
    shown = df.head(MAX_TABLE_ROWS)
    # Floats to one decimal unless the page says otherwise: 12.4, not 12.4166667.
    config: dict[str, Any] = {
        str(c): st.column_config.NumberColumn(format="%.1f")
        for c in df.columns
        if pd.api.types.is_float_dtype(df[c])
    }
    config.update(column_config or {})
    kwargs: dict[str, Any] = {"hide_index": True, "column_config": config}
    if height is not None:
        kwargs["height"] = height
    st.dataframe(shown, **kwargs)
    if len(df) > len(shown):
        st.caption(f"First {len(shown):,} of {len(df):,} rows shown; the CSV has them all.")
    key = slug(name)
    st.download_button(
        "CSV",
        # Rounded (0.1) for the download: see `aggregates.rounded` and the README.
        data=lambda: table_csv(agg.rounded(df)),
        file_name=f"{key}.csv",
        mime="text/csv",
        key=f"csv-{key}",
        on_click="ignore",
        icon=":material/download:",
    )


def topic_chart(shares: pd.DataFrame, brands: Sequence[str], heading: alt.TitleParams) -> AnyChart:
    """Brand x topic grid: each brand's care requests by topic (% of its care requests).

    `shares` has brand, topic, share (percent), care_requests and n (the brand's care
    requests). Topics in taxonomy order, `other` last.
    """
    from carebench.benchmark.topics import TOPICS

    return _share_grid(
        shares,
        brands,
        heading,
        ("topic", "Topic", list(TOPICS), alt.Axis(orient="top", labelAngle=-30, labelLimit=180)),
        ("Share of care requests (%)", alt.Scale(scheme="blues", domain=[0, 60], clamp=True), 40),
        (("care_requests", "Care requests on this topic"), ("n", "Care requests of the brand")),
    )
