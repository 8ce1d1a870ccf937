"""Scorecard: the focus brand against its competitors, and whether the gaps are real."""

from __future__ import annotations

import streamlit as st

from carebench.dashboard import aggregates as agg
from carebench.dashboard.charts import (
    brand_colours,
    export_meta,
    interval_chart,
    md,
    show_table,
    table_csv,
    title,
)
from carebench.dashboard.data import load_view
from carebench.dashboard.drill_widgets import clickable_chart, clickable_table, drill_link
from carebench.dashboard.drilldown import Drill, drill_size
from carebench.dashboard.filters import format_sla
from carebench.dashboard.report_download import report_buttons

view = load_view()
filters = view.filters
card = view.scorecard()
focus = filters.focus or ""
colours = brand_colours(view.loaded.options.brands)

st.title("Scorecard")
st.caption(
    f"**{md(focus)}** vs {len(filters.competitors)} competitors · "
    f"{len(view.conversations):,} conversations opened {filters.start:%d %b %Y} – "
    f"{filters.end:%d %b %Y} · SLA {format_sla(filters.sla_minutes)} · deltas against the "
    "competitors' median, green or red only when the 95% intervals say the gap is real"
)
report_buttons(view)

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
                # Green or red only when the 95% intervals say the gap is real.
                delta_color=tile.delta_color,
                delta_description=tile.delta_description,
                help=(
                    f"{tile.metric.meaning.capitalize()}. Peer median "
                    f"{agg.format_value(tile.peer_median, kind)} (95% interval "
                    f"{agg.format_value(tile.peer_low, kind)} – "
                    f"{agg.format_value(tile.peer_high, kind)}). {better} is better. The "
                    "delta is coloured only when its own 95% interval leaves out zero; "
                    "otherwise it is grey and said to be within noise."
                ),
            )
            if tile.metric.column == "resolution_rate":
                # The rate alone hides how much of it nothing in public settles.
                split = agg.outcome_split(card, focus)
                st.markdown(agg.outcome_split_text(split), help=agg.outcome_split_intervals(split))
            st.caption(f"{interval} · n = {tile.n:,}")
            # The threads behind the figure, a click away.
            drill = Drill(tile.metric.column, focus)
            drill_link(drill, drill_size(own, drill, view.settings))
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
unit = agg.display_unit(metric, card[metric.column])
table = agg.interval_table(card, metric, view.settings.min_sample, unit)
log = metric.unit == "minutes" and agg.wide_spread(table["value"])
best = "lower is better" if metric.better == "lower" else "higher is better"
clickable_chart(
    interval_chart(
        table,
        view.brands,
        title(
            f"{metric.label} by brand ({best})",
            f"Dot = figure, bar = 95% interval; hollow dot = under "
            f"{view.settings.min_sample} cases; bold = focus brand. n per brand in the "
            "table below." + (" Log scale: the figures are far apart." if log else ""),
        ),
        f"{metric.label} (log scale)" if log else agg.unit_title(metric, unit),
        colours=colours,
        log=log,
        time_unit=unit,
    ),
    f"scorecard-{metric.label}",
    ["brand"],
    lambda picked: Drill(metric.column, str(picked["brand"])),
    meta=export_meta(view),
)
ranked = agg.ranking(card, metric, focus)
clickable_table(
    ranked,
    f"ranking-{metric.label}",
    lambda row: Drill(metric.column, str(ranked["Brand"].iloc[row])),
)

st.subheader("Is the difference real?")
st.caption(
    "A brand differs for real from the focus brand when the 95% interval of the "
    "difference between them leaves out zero; otherwise this sample cannot tell them "
    "apart (within noise), though more data might."
)
groups = {
    "Clearly better than": "better (real)",
    "Clearly worse than": "worse (real)",
    "Cannot be told apart from": "within noise",
    "Too little data to compare with": "not enough data",
}
for heading, said in groups.items():
    names = [b for b, v in zip(ranked["Brand"], ranked["vs focus brand"], strict=True) if v == said]
    if names:
        st.markdown(f"**{heading} {md(focus)}:** " + ", ".join(md(b) for b in names))
matrix = agg.verdict_matrix(card, focus)
if len(matrix):
    st.markdown(
        f"**Every metric, each brand against {md(focus)}**: *better* or *worse* means the "
        f"brand really beats or trails {md(focus)} on that metric."
    )
    show_table(matrix, "verdicts-vs-focus")
if filters.competitors:
    st.markdown(f"**Every metric, {md(focus)} against the peers' median** (as on the tiles):")
    show_table(
        agg.focus_vs_peers(card, focus, filters.competitors),
        "focus-vs-peers",
        column_config={"n": st.column_config.NumberColumn(format="%d")},
    )
    st.caption(
        "Figures in the row's unit (percent for rates, their differences in points). A "
        "verdict is real only when the difference's 95% interval leaves out zero."
    )
if not view.is_demo and view.loaded.imports["collector"].eq("twcs").any():
    st.caption(
        "TWCS data samples conversations that got replies, so response rates are near "
        "100% by construction and are not ranked here."
    )
st.download_button(
    "Full scorecard (every metric, interval and n) as CSV",
    # Rates in percent (`_pct`), times in minutes (`_minutes`), rounded: see the README.
    data=lambda: table_csv(agg.scorecard_export(card)),
    file_name="scorecard.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)
