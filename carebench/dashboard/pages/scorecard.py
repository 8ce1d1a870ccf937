"""Scorecard: the focus brand against its competitors, and whether the gaps are real."""

from __future__ import annotations

import streamlit as st

from carebench.benchmark.scorecard import scorecard
from carebench.dashboard import aggregates as agg
from carebench.dashboard.charts import (
    interval_chart,
    md,
    table_csv,
    title,
)
from carebench.dashboard.data import load_view
from carebench.dashboard.drill_widgets import clickable_chart, clickable_table, drill_link
from carebench.dashboard.drilldown import Drill, drill_conversations
from carebench.dashboard.filters import format_sla

view = load_view()
filters = view.filters
card = scorecard(view.conversations, view.settings)
focus = filters.focus or ""

st.title("Scorecard")
st.caption(
    f"**{md(focus)}** vs {len(filters.competitors)} competitors · "
    f"{len(view.conversations):,} conversations opened {filters.start:%d %b %Y} – "
    f"{filters.end:%d %b %Y} · SLA {format_sla(filters.sla_minutes)}"
)

if focus not in set(card["brand"]):
    st.warning(f"{md(focus)} has no conversations in this view; widen the dates.")
tiles = agg.kpi_tiles(card, focus, filters.competitors)
# The focus brand's conversations, once: each tile's link counts the ones behind it.
own = view.conversations[(view.conversations["brand"] == focus).to_numpy(dtype=bool)]
for row in (tiles[:3], tiles[3:]):
    for column, tile in zip(st.columns(len(row)), row, strict=True):
        kind = tile.metric.unit
        interval = (
            f"95% interval {agg.format_value(tile.low, kind)} – {agg.format_value(tile.high, kind)}"
        )
        better = "Lower" if tile.metric.better == "lower" else "Higher"
        with column.container(border=True):
            st.metric(
                tile.metric.label,
                tile.text,
                delta=tile.delta_text,
                delta_color=tile.delta_color,
                delta_description="vs peer median" if tile.delta_text else None,
                help=(
                    f"{tile.metric.meaning.capitalize()}. Peer median "
                    f"{agg.format_value(tile.peer_median, kind)}. {better} is better."
                ),
            )
            if tile.metric.column == "resolution_rate":
                # The rate alone hides how much of it nothing in public settles.
                split = agg.outcome_split(card, focus)
                st.markdown(agg.outcome_split_text(split), help=agg.outcome_split_intervals(split))
            st.caption(f"{interval} · n = {tile.n:,}")
            # The threads behind the figure, a click away.
            behind = drill_conversations(own, Drill(tile.metric.column, focus), view.settings)
            drill_link(behind.drill, len(behind.conversations))
if not filters.competitors:
    st.caption("No competitors chosen: pick some in the sidebar to see deltas.")

small = card.loc[card["small_sample"], "brand"].tolist()
if small:
    st.warning(
        f"Small samples (under {view.settings.min_sample} conversations): "
        + ", ".join(md(b) for b in small)
        + ". Their figures have wide intervals; do not rank on them."
    )

st.header("Ranking")
labels = {m.label: m for m in agg.METRICS}
chosen = st.selectbox("Rank brands by", list(labels), key="scorecard_metric")
metric = labels[chosen]
axis_unit = "minutes" if metric.unit == "minutes" else "%"
table = agg.interval_table(card, metric, view.settings.min_sample)
best = "lower is better" if metric.better == "lower" else "higher is better"
clickable_chart(
    interval_chart(
        table,
        view.brands,
        title(
            f"{metric.label} by brand ({best})",
            f"Dot = figure, bar = 95% interval; hollow dot = under "
            f"{view.settings.min_sample} cases. n per brand in the table below.",
        ),
        f"{metric.label} ({axis_unit})",
    ),
    f"scorecard-{metric.label}",
    ["brand"],
    lambda picked: Drill(metric.column, str(picked["brand"])),
)
ranked = agg.ranking(card, metric, focus)
clickable_table(
    ranked,
    f"ranking-{metric.label}",
    lambda row: Drill(metric.column, str(ranked["Brand"].iloc[row])),
)

st.subheader("Is the difference real?")
st.caption(
    "Two brands differ for sure when their 95% intervals do not overlap. Overlapping "
    "intervals mean this sample cannot tell them apart; more data might."
)
groups = {
    "Clearly better than": "better (real)",
    "Clearly worse than": "worse (real)",
    "Cannot be told apart from": "overlaps: could be noise",
    "Too little data to compare with": "not enough data",
}
for heading, said in groups.items():
    names = [b for b, v in zip(ranked["Brand"], ranked["vs focus brand"], strict=True) if v == said]
    if names:
        st.markdown(f"**{heading} {md(focus)}:** " + ", ".join(md(b) for b in names))
if not view.is_demo and view.loaded.imports["collector"].eq("twcs").any():
    st.caption(
        "TWCS data samples conversations that got replies, so response rates are near "
        "100% by construction and are not ranked here."
    )
st.download_button(
    "Full scorecard (every metric, interval and n) as CSV",
    data=lambda: table_csv(card),
    file_name="scorecard.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)
