"""Aggregates -> Altair charts in one house style, and how pages show charts and tables.

Chart builders (`*_chart`) take the small tables of `aggregates` and return specs;
tests read `chart.to_dict()`. `show_chart` and `show_table` are the only two ways a
page puts a figure on screen, so every chart gets PNG/SVG downloads and every table a
CSV download. The style is applied at render time (not in the builders) so builders
can still be layered, and so the PNG a consultant downloads looks like the screen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, cast

import altair as alt
import pandas as pd
import streamlit as st

from carebench.benchmark.csv_safety import csv_text
from carebench.dashboard.aggregates import LOG_FLOOR_MINUTES

# Re-exported: pages import the escaping helpers from here too.
from carebench.dashboard.escaping import code as code
from carebench.dashboard.escaping import md as md

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

# The focus brand is always the first, warm colour; competitors get calm ones, in a
# fixed order, so a brand keeps its colour on every page of a view.
PALETTE: tuple[str, ...] = (
    "#D6452F",
    "#3A6EA5",
    "#4E9A52",
    "#8E5EA2",
    "#2A9D8F",
    "#C9A227",
    "#7F6A57",
    "#5B8DB8",
    "#A05195",
    "#6C757D",
)
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
FONT = "Source Sans Pro, Helvetica, Arial, sans-serif"


def style(chart: AnyChart) -> AnyChart:
    """The house style: big type for projectors, titles left, no chart border."""
    # fit-x: the chart takes the page width, and its declared height is the plot's own
    # height. (Streamlit's default, "fit", squeezes the plot to make room for titles
    # and legends inside the declared height.)
    sized = chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    styled = (
        sized.configure(font=FONT, padding=12)
        .configure_title(
            fontSize=22,
            subtitleFontSize=16,
            subtitleColor="#555555",
            anchor="start",
            offset=14,
            fontWeight="bold",
        )
        .configure_axis(
            labelFontSize=15,
            titleFontSize=16,
            titleFontWeight="normal",
            titleColor="#333333",
            labelColor="#333333",
            labelLimit=280,
            gridColor="#E6E6E6",
        )
        .configure_legend(
            labelFontSize=15,
            titleFontSize=15,
            titleFontWeight="normal",
            symbolSize=160,
            labelLimit=280,
        )
        .configure_header(labelFontSize=16, titleFontSize=16)
        .configure_view(stroke=None)
    )
    return cast(AnyChart, styled)


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


def brand_scale(brands: Sequence[str]) -> alt.Scale:
    """Brand -> colour, focus brand first."""
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(brands))]
    return alt.Scale(domain=list(brands), range=colours)


def _brand_colour(brands: Sequence[str], legend: bool = True) -> alt.Color:
    return alt.Color(
        "brand:N",
        title="Brand",
        scale=brand_scale(brands),
        legend=alt.Legend(orient="bottom", columns=4) if legend else None,
    )


def _hollow_when_small(flag: str, brands: Sequence[str]) -> Any:
    """Brand-coloured fill, white (a hollow mark) where the `flag` field says small sample."""
    return alt.condition(
        f"datum.{flag}", alt.value("white"), alt.Fill("brand:N", scale=brand_scale(brands))
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
    table: pd.DataFrame, brands: Sequence[str], heading: alt.TitleParams, axis_title: str
) -> AnyChart:
    """One row per brand: the figure as a dot, its 95% interval as a bar.

    `table` is `aggregates.interval_table` (display units); hollow dots mark small
    samples, the figure is printed beside each dot.
    """
    order = table.sort_values("value")["brand"].tolist()
    # Padding keeps a name clear of a dot sitting at zero.
    y = alt.Y(
        "brand:N",
        sort=order,
        title=None,
        axis=alt.Axis(labelFontWeight="bold", labelPadding=12, ticks=False, domain=False),
    )
    base = alt.Chart(table).encode(y=y)
    rule = base.mark_rule(strokeWidth=4, opacity=0.45).encode(
        x=alt.X("low:Q", title=axis_title, scale=alt.Scale(zero=True), axis=alt.Axis(tickCount=8)),
        x2="high:Q",
        color=_brand_colour(brands, legend=False),
    )
    dots = base.mark_point(size=220, strokeWidth=3).encode(
        x="value:Q",
        color=_brand_colour(brands, legend=False),
        fill=_hollow_when_small("small", brands),
        tooltip=[
            alt.Tooltip("brand:N", title="Brand"),
            *_interval_tooltips("value:Q", axis_title),
        ],
    )
    labels = base.mark_text(align="left", dx=12, dy=-12, fontSize=15).encode(
        x="value:Q", text=alt.Text("value:Q", format=".1f")
    )
    return alt.layer(rule, dots, labels, title=heading).properties(height=alt.Step(44))


ECDF_HEIGHT = 420
# Log-axis ticks a reader knows, in minutes.
TIME_TICKS_MINUTES: tuple[float, ...] = (0.1, 1, 5, 15, 60, 240, 1440, 10080)
_TIME_LABELS = (
    "datum.value < 1 ? '6 s' : datum.value < 60 ? datum.value + ' min' : "
    "datum.value < 1440 ? datum.value / 60 + ' h' : datum.value < 10080 ? "
    "datum.value / 1440 + ' day' : datum.value / 10080 + ' week'"
)


def ecdf_chart(
    ecdf: pd.DataFrame, brands: Sequence[str], sla_minutes: int, heading: alt.TitleParams
) -> AnyChart:
    """Share of answered conversations answered within t, per brand, log time axis."""
    longest = float(ecdf["minutes"].max()) if len(ecdf) else 60.0
    upper = min(max(longest, float(sla_minutes)) * 1.5, 4 * 10080)
    ticks = [t for t in TIME_TICKS_MINUTES if t <= upper]
    lines = (
        alt.Chart(ecdf)
        .mark_line(strokeWidth=3, interpolate="step-after")
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
            color=_brand_colour(brands),
            tooltip=[
                alt.Tooltip("brand:N", title="Brand"),
                alt.Tooltip("minutes:Q", title="Minutes", format=".1f"),
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
    curve: pd.DataFrame, brands: Sequence[str], sla_minutes: int, heading: alt.TitleParams
) -> AnyChart:
    """Share answered within each SLA checkpoint, per brand, with 95% intervals."""
    labels = {m: _minutes_label(m) for m in curve["minutes"].unique()}
    data = curve.assign(checkpoint=curve["minutes"].map(labels))
    order = [labels[m] for m in sorted(labels)]
    x = alt.X("checkpoint:O", sort=order, title="Answered within", axis=alt.Axis(labelAngle=0))
    base = alt.Chart(data).encode(x=x)
    # Only the line feeds the legend: the faint interval bars would make swatches pale.
    bars = base.mark_rule(strokeWidth=3, opacity=0.4).encode(
        y=alt.Y("low:Q", title="Share of answered conversations (%)"),
        y2="high:Q",
        color=_brand_colour(brands, legend=False),
    )
    line = base.mark_line(strokeWidth=3, point=alt.OverlayMarkDef(size=90)).encode(
        y=alt.Y("share:Q", scale=alt.Scale(domain=[0, 100])),
        color=_brand_colour(brands),
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
    if minutes < 60:
        return f"{minutes:g} min"
    if minutes < 1440:
        return f"{minutes / 60:g} h"
    return f"{minutes / 1440:g} day"


def hour_of_week_chart(
    cells: pd.DataFrame, field: str, legend_title: str, heading: alt.TitleParams
) -> AnyChart:
    """Day x hour heatmap of one figure (volume, median TTFR or SLA share)."""
    reverse = field == "median_minutes"  # slow hours should look hot
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
                alt.Tooltip("median_minutes:Q", title="Median TTFR (min)", format=".1f"),
                alt.Tooltip("sla_percent:Q", title="Within SLA (%)", format=".0f"),
            ],
        )
        .properties(height=alt.Step(40))
    )


def channel_chart(mix: pd.DataFrame, brands: Sequence[str], heading: alt.TitleParams) -> AnyChart:
    """Brand x channel grid: where each brand sends the customers it deflects."""
    base = alt.Chart(mix).encode(
        x=alt.X(
            "channel:N",
            title=None,
            sort=["DM", "Phone", "E-mail", "Web / form", "Store", "Other account"],
            axis=alt.Axis(orient="top", labelAngle=0),
        ),
        y=alt.Y("brand:N", sort=list(brands), title=None, axis=alt.Axis(labelFontWeight="bold")),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "share:Q",
            title="Share of deflected (%)",
            scale=alt.Scale(scheme="oranges", domain=[0, 100]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("brand:N", title="Brand"),
            alt.Tooltip("channel:N", title="Channel"),
            alt.Tooltip("share:Q", title="Share of deflected (%)", format=".1f"),
            alt.Tooltip("conversations:Q", title="Conversations"),
            alt.Tooltip("n:Q", title="Deflected conversations"),
        ],
    )
    text = base.mark_text(fontSize=16).encode(
        text=alt.Text("share:Q", format=".0f"),
        color=alt.condition("datum.share > 55", alt.value("white"), alt.value("#222222")),
    )
    return alt.layer(cells, text, title=heading).properties(height=alt.Step(44))


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
    trend: pd.DataFrame, brands: Sequence[str], axis_title: str, heading: alt.TitleParams
) -> AnyChart:
    """Weekly figure per brand: a line, its 95% interval as a band, hollow small weeks."""
    base = alt.Chart(trend).encode(
        x=alt.X("week:T", title="Week (starting Monday, UTC)", axis=alt.Axis(format="%d %b %Y")),
    )
    # Only the line feeds the legend: the faint band would make every swatch pale.
    band = base.mark_area(opacity=0.14).encode(
        y=alt.Y("low:Q", title=axis_title), y2="high:Q", color=_brand_colour(brands, legend=False)
    )
    line = base.mark_line(strokeWidth=3).encode(y="value:Q", color=_brand_colour(brands))
    points = base.mark_point(size=110, strokeWidth=2.5).encode(
        y="value:Q",
        color=_brand_colour(brands, legend=False),
        fill=_hollow_when_small("small_sample", brands),
        tooltip=[
            alt.Tooltip("brand:N", title="Brand"),
            alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
            *_interval_tooltips("value:Q", axis_title),
        ],
    )
    return alt.layer(band, line, points, title=heading).properties(height=420)


# -- showing ----------------------------------------------------------------------------------


def slug(name: str) -> str:
    """A file-name and widget-key safe version of a chart or table name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "chart"


def export_spec(chart: AnyChart) -> str:
    """The styled chart as Vega-Lite JSON, with a fixed width for image export."""
    styled = style(chart)
    spec = styled.to_dict()
    if "width" not in spec and "facet" not in spec and "hconcat" not in spec:
        spec["width"] = EXPORT_WIDTH
    return json.dumps(spec)


def chart_png(chart: AnyChart) -> bytes:
    """The chart as a PNG at twice the screen resolution (sharp on slides)."""
    import vl_convert

    return bytes(vl_convert.vegalite_to_png(export_spec(chart), scale=2))


def chart_svg(chart: AnyChart) -> str:
    """The chart as SVG (vector, for reports)."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(export_spec(chart)))


def show_chart(chart: AnyChart, name: str) -> None:
    """Render a chart in the house style, with PNG and SVG downloads."""
    st.altair_chart(style(chart), theme=None, width="stretch")
    key = slug(name)
    left, right, _ = st.columns([1, 1, 6])
    # Images are made only when asked for (a callable is run on click), so a page
    # with six charts does not render twelve images on every filter change.
    left.download_button(
        "PNG",
        data=lambda: chart_png(chart),
        file_name=f"{key}.png",
        mime="image/png",
        key=f"png-{key}",
        on_click="ignore",
        icon=":material/download:",
    )
    right.download_button(
        "SVG",
        data=lambda: chart_svg(chart),
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
        data=lambda: table_csv(df),
        file_name=f"{key}.csv",
        mime="text/csv",
        key=f"csv-{key}",
        on_click="ignore",
        icon=":material/download:",
    )
