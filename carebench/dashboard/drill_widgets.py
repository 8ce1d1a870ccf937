"""The clickable side of drill-downs: links under tiles, clickable table rows and marks.

Each opens the Conversations page with the figure in its address (`drilldown.to_query`);
that page lists the conversations behind it. The sidebar's filters travel in the
session, so the list is taken over the same view the figure was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from carebench.dashboard.charts import chart_downloads, slug, style, table_csv
from carebench.dashboard.drilldown import Drill, to_query

CONVERSATIONS_PAGE = "carebench/dashboard/pages/conversations.py"
# The name of the point selection a clickable chart gets.
PICK = "drill_pick"


def open_drill(drill: Drill) -> None:
    """Go to the Conversations page listing the conversations behind `drill`."""
    st.switch_page(CONVERSATIONS_PAGE, query_params=to_query(drill))


def drill_link(drill: Drill, n: int, what: str = "conversations") -> None:
    """A link "Show the 412 conversations" to the threads behind a figure."""
    if n <= 0:
        return
    st.page_link(
        CONVERSATIONS_PAGE,
        label=f"Show the {n:,} {what}",
        icon=":material/forum:",
        query_params=to_query(drill),
        help="Opens the Conversations page with exactly the conversations this figure "
        "is computed over.",
    )


# Marks a reader clicks, best first: in a layered chart the selection goes on one layer
# (Vega-Lite cannot bind one selection to several layers of a layer chart).
_CLICKABLE_MARKS = ("point", "circle", "bar", "rect")


def _mark_type(chart: Any) -> str:
    mark = getattr(chart, "mark", None)
    if isinstance(mark, str):
        return mark
    return str(getattr(mark, "type", ""))


def _with_pick(chart: Any, fields: Sequence[str]) -> Any:
    """The chart with a click selection on `fields`, on its dots or bars."""
    pick = alt.selection_point(name=PICK, fields=list(fields), on="click", clear="dblclick")
    if not isinstance(chart, alt.LayerChart):
        return chart.add_params(pick)
    layers = list(chart.layer)
    marks = [_mark_type(layer) for layer in layers]
    chosen = next(
        (marks.index(m) for m in _CLICKABLE_MARKS if m in marks),
        0,
    )
    layers[chosen] = layers[chosen].add_params(pick)
    picked = chart.copy(deep=False)
    picked.layer = layers
    return picked


def clickable_chart(
    chart: Any,
    name: str,
    fields: Sequence[str],
    on_pick: Callable[[dict[str, Any]], Drill | None],
    *,
    meta: Sequence[str] | None = None,
) -> None:
    """Render a chart (house style, PNG/SVG downloads) whose marks open their threads.

    `on_pick` turns the clicked datum's `fields` into the figure to drill into (None:
    nothing to open, e.g. a cell without conversations).
    """
    key = slug(name)
    state = st.altair_chart(
        style(_with_pick(chart, fields)),
        theme=None,
        width="stretch",
        on_select="rerun",
        selection_mode=[PICK],
        key=f"pick-{key}",
    )
    points = _picked(state)
    if points:
        drill = on_pick(points[0])
        if drill is not None:
            open_drill(drill)
    st.caption("Click a mark to read the conversations behind it.")
    chart_downloads(chart, name, meta)


def _picked(state: Any) -> list[dict[str, Any]]:
    try:
        selection = state["selection"]
        points = selection[PICK]
    except (KeyError, TypeError):
        return []
    return [dict(p) for p in points] if isinstance(points, list) else []


def clickable_table(
    df: pd.DataFrame,
    name: str,
    on_pick: Callable[[int], Drill | None],
    *,
    column_config: dict[str, Any] | None = None,
) -> None:
    """A table whose row, clicked, opens the conversations behind it; with its CSV."""
    config: dict[str, Any] = {
        str(c): st.column_config.NumberColumn(format="%.1f")
        for c in df.columns
        if pd.api.types.is_float_dtype(df[c])
    }
    config.update(column_config or {})
    key = slug(name)
    state = st.dataframe(
        df,
        hide_index=True,
        column_config=config,
        on_select="rerun",
        selection_mode="single-row",
        key=f"rows-{key}",
    )
    rows = list(getattr(getattr(state, "selection", None), "rows", []) or [])
    if rows:
        drill = on_pick(int(rows[0]))
        if drill is not None:
            open_drill(drill)
    st.caption("Click a row to read the conversations behind it.")
    st.download_button(
        "CSV",
        data=lambda: table_csv(df),
        file_name=f"{key}.csv",
        mime="text/csv",
        key=f"csv-{key}",
        on_click="ignore",
        icon=":material/download:",
    )
