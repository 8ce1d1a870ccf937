"""Speed: how fast each brand answers, the SLA curve, and when customers wait longest."""

from __future__ import annotations

import streamlit as st

from carebench.dashboard import aggregates as agg
from carebench.dashboard.charts import (
    brand_colours,
    ecdf_chart,
    export_meta,
    hour_of_week_chart,
    md,
    n_lines,
    show_chart,
    sla_curve_chart,
    title,
)
from carebench.dashboard.data import load_view
from carebench.dashboard.drill_widgets import clickable_chart, clickable_table, drill_link
from carebench.dashboard.drilldown import Drill
from carebench.dashboard.filters import format_sla

view = load_view()
filters = view.filters
sla = format_sla(filters.sla_minutes)
card = view.scorecard()
answered = agg.valid_ttfr(view.conversations)
colours = brand_colours(view.loaded.options.brands)
meta = export_meta(view)

st.title("Speed")
st.caption(
    "Time to first response (TTFR): from the customer post the brand answered to the "
    "brand's first reply. Unanswered and clock-skewed conversations are left out."
)

focus_row = card[card["brand"] == filters.focus]
if len(focus_row):
    row = focus_row.iloc[0]
    st.subheader(md(filters.focus))
    left, middle, right = st.columns(3)
    left.metric(
        f"Answered within {sla}",
        agg.format_value(row["sla_share"], "share"),
        help=f"n = {int(row['sla_share_n']):,} answered conversations",
        border=True,
    )
    with left:
        drill_link(Drill("sla_share", filters.focus or ""), int(row["sla_share_n"]))
    middle.metric(
        "Median first response",
        agg.format_value(row["ttfr_median_seconds"], "minutes"),
        border=True,
    )
    right.metric(
        "P90 first response",
        agg.format_value(row["ttfr_p90_seconds"], "minutes"),
        border=True,
    )

answered_n = answered.groupby("brand").size().reindex(view.brands).dropna().to_dict()
show_chart(
    ecdf_chart(
        agg.ttfr_ecdf(answered),
        view.brands,
        filters.sla_minutes,
        title(
            "How long customers waited for a first reply, by brand",
            [
                f"Share of answered conversations answered within t; dashed line = SLA ({sla})",
                *n_lines(answered_n, "n answered"),
            ],
        ),
        colours=colours,
    ),
    "ttfr-distribution",
    meta=meta,
)

st.subheader(f"Share answered within the SLA ({sla})")
sla_metric = agg.METRIC_BY_COLUMN["sla_share"]
sla_table = agg.ranking(card, sla_metric, filters.focus)
clickable_table(
    sla_table,
    f"sla-share-{filters.sla_minutes}min",
    lambda row: Drill("sla_share", str(sla_table["Brand"].iloc[row])),
)

show_chart(
    sla_curve_chart(
        agg.sla_curve(answered),
        view.brands,
        filters.sla_minutes,
        title(
            "SLA curve: share answered within each promise, by brand",
            [
                "Lines = share, vertical bars = 95% interval; thick line = focus brand",
                *n_lines(answered_n, "n answered"),
            ],
        ),
        colours=colours,
    ),
    "sla-curve",
    meta=meta,
)

st.subheader("When customers wait: hour of the week")
left, right = st.columns(2)
brand = left.selectbox("Brand", list(view.brands), key="speed_heatmap_brand")
own = view.conversations[view.conversations["brand"] == brand]
cells = agg.hour_of_week(own, view.settings.sla_seconds)
# The heatmap's unit follows its own cells: a brand answering in seconds reads in s.
cell_unit = agg.time_unit(cells["median_minutes"] * 60)
choices = {
    "Conversations opened": ("conversations", "Conversations"),
    "Median first response": (
        "median_minutes",
        f"Median TTFR ({cell_unit.symbol})",
    ),
    f"Answered within SLA ({sla}, %)": ("sla_percent", "Within SLA (%)"),
}
shown = right.selectbox("Show", list(choices), key="speed_heatmap_figure")
field, legend = choices[shown]
# A cell opens the conversations behind its figure (volume, speed or SLA share).
CELL_METRIC = {
    "conversations": "conversations",
    "median_minutes": "ttfr_median_seconds",
    "sla_percent": "sla_share",
}
clickable_chart(
    hour_of_week_chart(
        cells,
        field,
        legend,
        title(
            f"{shown} by hour of the week: {brand}",
            f"n = {len(own):,} conversations; speed figures only in cells with "
            f"{agg.MIN_CELL}+ answered conversations",
        ),
        time_unit=cell_unit,
    ),
    f"hour-of-week-{brand}-{field}",
    ["how"],
    lambda picked: Drill(CELL_METRIC[field], brand, cell=int(picked["how"])),
    meta=meta,
)
st.caption(f"Hours are in {md(brand)}'s time zone from the brand config (UTC by default).")
