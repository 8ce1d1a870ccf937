"""Trends: each brand's figures per week or month, with intervals, so a dip can be told
from noise; and the focus brand before and after a change, with a plain verdict."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

import pandas as pd
import streamlit as st

from carebench.benchmark.scorecard import scorecard
from carebench.dashboard import aggregates as agg
from carebench.dashboard.charts import (
    brand_colours,
    export_meta,
    md,
    show_table,
    title,
    trend_chart,
)
from carebench.dashboard.data import load_view
from carebench.dashboard.drill_widgets import clickable_chart
from carebench.dashboard.drilldown import Drill

view = load_view()
filters = view.filters
minimum = view.settings.min_sample

st.title("Trends")

left, right = st.columns([3, 1])
labels = {m.label: m for m in agg.METRICS}
chosen = left.selectbox("Metric", list(labels), key="trends_metric")
metric = labels[chosen]
# Kept on this page (not in the sidebar): only the trend chart is per period.
period = cast(
    agg.Period,
    right.radio(
        "Per",
        ["week", "month"],
        key="trends_period",
        horizontal=True,
        format_func=lambda p: "Week" if p == "week" else "Month",
    ),
)
st.caption(
    "One point per brand and "
    + ("week (weeks start on Monday, UTC)." if period == "week" else "calendar month (UTC).")
    + f" Hollow points and dashed lines: under {minimum} cases, or a period the dates in "
    "the sidebar cut; a gap in a line is a period with no case."
)

periodic = view.scorecard(period)
unit = agg.display_unit(metric, periodic[metric.column])
trend = agg.trend_table(
    periodic, metric, minimum, period=period, start=filters.start, end=filters.end, unit=unit
)
if trend.empty:
    st.info("No figures for this metric in this view.")
else:
    better = "lower is better" if metric.better == "lower" else "higher is better"
    periods = trend["period"].nunique()
    reliable = trend[trend["reliable"]]
    log = metric.unit == "minutes" and agg.wide_spread(reliable["value"])
    noun = "week" if period == "week" else "month"
    clickable_chart(
        trend_chart(
            trend,
            view.brands,
            agg.unit_title(metric, unit) + (" (log scale)" if log else ""),
            title(
                f"{metric.label} per {noun}, by brand ({better})",
                [
                    "Band = 95% interval; thick line = focus brand; hollow point, dashed "
                    f"line = under {minimum} cases or a partial {noun}",
                    f"{periods} {noun}s, {int(trend['n'].sum()):,} cases",
                ],
            ),
            period=period,
            colours=brand_colours(view.loaded.options.brands),
            domain=agg.trend_domain(trend, unit, log),
            log=log,
        ),
        f"trend-{metric.label}-{period}",
        ["brand", "period"],
        lambda picked: Drill(
            metric.column,
            str(picked["brand"]),
            period=period,
            # A time field comes back from the browser in epoch milliseconds.
            start=pd.Timestamp(picked["period"], unit="ms", tz="UTC").date(),
        ),
        meta=export_meta(view),
    )
    hollow = int(trend["hollow"].sum())
    if hollow:
        st.caption(
            f"{hollow} of {len(trend)} brand-{noun}s are hollow ({int(trend['partial'].sum())}"
            f" partial, {int(trend['small_sample'].sum())} under {minimum} cases): read their "
            "movement as noise. The y-axis is set by the other points; a hollow point beyond "
            "it is drawn at its edge (its tooltip has the figure)."
        )
    show_table(agg.trend_rows(trend, metric, unit), f"trend-{metric.label}-{period}")

# -- before / after ------------------------------------------------------------------------

focus = filters.focus
st.header("Before and after")
if not focus:
    st.info("Choose a focus brand in the sidebar to compare two periods.")
    st.stop()
st.caption(
    f"{md(focus)} in two date ranges within the sidebar's dates (UTC days), every metric "
    "with its 95% interval. A change is real only when the 95% interval of the change "
    "leaves out zero; otherwise it is within noise."
)
first, last = filters.start, filters.end
middle = first + (last - first) // 2
left, right = st.columns(2)
before_range = left.date_input(
    "Before",
    value=(first, middle),
    min_value=first,
    max_value=last,
    key="trends_before",
)
after_range = right.date_input(
    "After",
    value=(min(middle + timedelta(days=1), last), last),
    min_value=first,
    max_value=last,
    key="trends_after",
)


def _days(picked: object) -> tuple[date, date] | None:
    """A complete (start, end) pick; None while the user has picked one day only."""
    if isinstance(picked, tuple | list) and len(picked) == 2:
        return (picked[0], picked[1])
    return None


before_days, after_days = _days(before_range), _days(after_range)
if before_days is None or after_days is None:
    st.info("Pick a start and an end day for both ranges.")
    st.stop()
own = view.conversations[view.conversations["brand"] == focus]
before_card = scorecard(agg.days_between(own, *before_days), view.settings)
after_card = scorecard(agg.days_between(own, *after_days), view.settings)
changes = agg.before_after(before_card, after_card)
if before_days[1] >= after_days[0] and after_days[1] >= before_days[0]:
    st.warning("The two ranges overlap: their conversations are counted in both.")
headline = changes[changes["Metric"] == metric.label].iloc[0]
st.markdown(agg.verdict_sentence(headline))
st.caption(
    f"Before: {before_days[0]:%d %b %Y} – {before_days[1]:%d %b %Y}, "
    f"{len(agg.days_between(own, *before_days)):,} conversations · After: "
    f"{after_days[0]:%d %b %Y} – {after_days[1]:%d %b %Y}, "
    f"{len(agg.days_between(own, *after_days)):,} conversations"
)
show_table(
    changes,
    f"before-after-{focus}",
    column_config={
        "n before": st.column_config.NumberColumn(format="%d"),
        "n after": st.column_config.NumberColumn(format="%d"),
    },
)
