"""Trends: each brand's weekly figures, with intervals, so a dip can be told from noise."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from carebench.benchmark.scorecard import scorecard
from carebench.dashboard import aggregates as agg
from carebench.dashboard.charts import show_table, title, trend_chart
from carebench.dashboard.data import load_view
from carebench.dashboard.drill_widgets import clickable_chart
from carebench.dashboard.drilldown import Drill

view = load_view()
weekly = scorecard(view.conversations, view.settings, period="week")

st.title("Trends")
st.caption("One point per brand and week (weeks start on Monday, UTC).")

labels = {m.label: m for m in agg.METRICS}
chosen = st.selectbox("Metric", list(labels), key="trends_metric")
metric = labels[chosen]
unit = "minutes" if metric.unit == "minutes" else "%"
trend = agg.trend_table(weekly, metric, view.settings.min_sample)
if trend.empty:
    st.info("No weekly figures for this metric in this view.")
else:
    better = "lower is better" if metric.better == "lower" else "higher is better"
    weeks = trend["week"].nunique()
    clickable_chart(
        trend_chart(
            trend,
            view.brands,
            f"{metric.label} ({unit})",
            title(
                f"{metric.label} per week, by brand ({better})",
                f"Band = 95% interval; hollow point = under {view.settings.min_sample} "
                f"cases that week; {weeks} weeks, {int(trend['n'].sum()):,} cases",
            ),
        ),
        f"trend-{metric.label}",
        ["brand", "week"],
        lambda picked: Drill(
            metric.column,
            str(picked["brand"]),
            period="week",
            # A time field comes back from the browser in epoch milliseconds.
            start=pd.Timestamp(picked["week"], unit="ms", tz="UTC").date(),
        ),
    )
    small = int(trend["small_sample"].sum())
    if small:
        st.caption(
            f"{small} of {len(trend)} brand-weeks have fewer than {view.settings.min_sample} "
            "cases: read their movement as noise unless the bands separate."
        )
    show_table(agg.trend_rows(trend, metric), f"trend-{metric.label}")
