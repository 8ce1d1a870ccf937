"""Deflection & resolution: where brands send customers, and how conversations end."""

from __future__ import annotations

import streamlit as st

from carebench.dashboard import aggregates as agg
from carebench.dashboard.charts import (
    brand_colours,
    channel_chart,
    export_meta,
    interval_chart,
    n_lines,
    outcome_chart,
    show_chart,
    show_table,
    title,
)
from carebench.dashboard.data import load_view
from carebench.dashboard.drill_widgets import clickable_chart
from carebench.dashboard.drilldown import OUTCOME_PREFIX, Drill

# Channel labels of the chart -> the scorecard's channel names.
CHANNEL_OF_LABEL = {label: key for key, label in agg.CHANNEL_LABELS.items()}

view = load_view()
conversations = view.conversations
card = view.scorecard()
colours = brand_colours(view.loaded.options.brands)
meta = export_meta(view)

st.title("Deflection & resolution")
st.caption(
    "A reply deflects when it moves the customer elsewhere (DM, phone, e-mail, a web form, "
    "a store, another account) instead of answering in public. Outcomes are what the "
    "public thread shows: resolved, unresolved, unknown (no signal either way, often "
    "after a move to DM) or unanswered."
)

deflection = agg.METRIC_BY_COLUMN["deflection_rate"]
clickable_chart(
    interval_chart(
        agg.interval_table(card, deflection, view.settings.min_sample),
        view.brands,
        title(
            "Share of answered conversations deflected, by brand (lower is better)",
            "Dot = share, bar = 95% interval; hollow = under "
            f"{view.settings.min_sample} answered conversations; bold = focus brand",
        ),
        "Deflected (%)",
        colours=colours,
    ),
    "deflection-rate",
    ["brand"],
    lambda picked: Drill("deflection_rate", str(picked["brand"])),
    meta=meta,
)

mix = agg.channel_mix(conversations)
deflected_n = mix.groupby("brand")["n"].first().reindex(view.brands).dropna().to_dict()
if mix.empty:
    st.info("No deflected conversations in this view.")
else:
    clickable_chart(
        channel_chart(
            mix,
            [b for b in view.brands if b in set(mix["brand"])],
            title(
                "Where each brand sends the customers it deflects (% of its deflections)",
                [
                    "A conversation sent to two channels counts in both",
                    *n_lines(deflected_n, "n deflected"),
                ],
            ),
        ),
        "deflection-channels",
        ["brand", "channel"],
        lambda picked: Drill(
            f"channel_{CHANNEL_OF_LABEL.get(str(picked['channel']), '')}_share",
            str(picked["brand"]),
            part="hits",
        ),
        meta=meta,
    )
    show_table(
        agg.wide_shares(
            mix,
            ["brand"],
            "channel",
            list(agg.CHANNEL_LABELS.values()),
            "Deflected",
            view.brands,
        ),
        "deflection-channels",
    )

outcomes = agg.outcome_shares(conversations)
care_n = outcomes.groupby("brand")["n"].first().reindex(view.brands).dropna().to_dict()
st.header("Outcomes")
if outcomes.empty:
    st.info("No care requests in this view.")
else:
    clickable_chart(
        outcome_chart(
            outcomes,
            view.brands,
            title(
                "How care requests ended in public, by brand",
                [
                    "Share of care requests; the scorecard's resolution rate is over "
                    "answered ones only",
                    *n_lines(care_n, "n care requests"),
                ],
            ),
        ),
        "outcomes",
        ["brand", "outcome"],
        lambda picked: Drill(
            f"{OUTCOME_PREFIX}{picked['outcome']}", str(picked["brand"]), part="hits"
        ),
        meta=meta,
    )
    show_table(
        agg.wide_shares(
            outcomes, ["brand"], "outcome", agg.OUTCOME_ORDER, "Care requests", view.brands
        ),
        "outcomes",
    )

st.header("What happened after a deflection")
paths = agg.outcome_after_deflection(conversations)
if paths.empty:
    st.info("No answered care requests in this view.")
else:
    brand = st.selectbox("Brand", list(view.brands), key="deflection_path_brand")
    own = paths[paths["brand"] == brand]
    if own.empty:
        st.info("This brand has no answered care requests in this view.")
    else:
        sizes = own.groupby("path")["n"].first()
        labelled = own.assign(path=own["path"].map(lambda p: f"{p} (n = {int(sizes[p]):,})"))
        show_chart(
            outcome_chart(
                labelled,
                view.brands,
                title(
                    f"{brand}: outcomes after a deflection",
                    "Answered care requests by what the brand did: deflected at first "
                    "reply, deflected later, or answered in public",
                ),
                y_field="path",
            ),
            f"deflection-outcome-{brand}",
            meta=meta,
        )
        show_table(
            agg.wide_shares(
                own,
                ["brand", "path"],
                "outcome",
                agg.OUTCOME_ORDER,
                "Answered care requests",
                view.brands,
            ),
            f"outcome-by-deflection-{brand}",
        )
