"""Recurring issues: what customers keep coming back about, per brand, and how it goes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from carebench.benchmark.topics import OTHER, RECURRING_MIN_PERIODS, other_themes, topic_table
from carebench.dashboard import aggregates as agg
from carebench.dashboard.charts import export_meta, md, show_chart, show_table, title, topic_chart
from carebench.dashboard.data import StoreVersion, load_view

view = load_view()
filters = view.filters
meta = export_meta(view)

st.title("Recurring issues")
st.caption(
    "Every care request gets one topic from a fixed, reviewable taxonomy (delivery, "
    "billing, outage/connectivity, account/login, refund/return, product fault, "
    "staff/store, app/website; `other` when it names none): the topic the customer names "
    "first. A topic **recurs** when it comes up in at least half of the weeks the brand "
    f"had care requests, and in {RECURRING_MIN_PERIODS} weeks or more. Hand the recurring "
    "ones to the business: fixing their cause is cheaper than answering them again."
)

care = view.conversations[view.conversations["care_request"].to_numpy(dtype=bool)]
if care.empty:
    st.info("No care requests in this view: widen the dates or pick other brands.")
    st.stop()

overall = topic_table(care, None)
totals = care.groupby("brand").size()
grid = overall.assign(
    share=overall["share"] * 100,
    n=overall["brand"].map(totals),
)
show_chart(
    topic_chart(
        grid,
        view.brands,
        title(
            "What customers write about, by brand (% of each brand's care requests)",
            [
                "A care request has one topic: the first one the customer names",
                *[
                    f"n care requests: {', '.join(f'{b} {int(totals.get(b, 0)):,}' for b in view.brands)}"  # noqa: E501
                ],
            ],
        ),
    ),
    "topics-by-brand",
    meta=meta,
)

focus = filters.focus
own = overall[overall["brand"] == focus]
st.header(f"{md(focus)}: topics and how they fare")
if own.empty:
    st.info(f"{md(focus)} has no care requests in this view.")
else:
    recurring = own[own["recurring"]]
    if recurring.empty:
        st.write(
            "No topic recurs at this brand in this view (too few weeks, or no topic comes "
            "back week after week)."
        )
    for row in recurring.to_dict("records"):
        deflection = agg.format_value(float(row["deflection_rate"]), "share")
        resolution = agg.format_value(float(row["resolution_rate"]), "share")
        st.markdown(
            f"- **{md(str(row['topic'])).capitalize()}** came up in {int(row['periods_seen'])} "
            f"of the brand's weeks ({int(row['care_requests']):,} care requests, "
            f"{agg.format_value(float(row['share']), 'share')} of them); answered ones were "
            f"deflected {deflection} of the time and resolved in public {resolution}."
        )
    show_table(
        pd.DataFrame(
            {
                "Topic": own["topic"],
                "Care requests": own["care_requests"],
                "Share (%)": own["share"] * 100,
                "Share low (%)": own["share_low"] * 100,
                "Share high (%)": own["share_high"] * 100,
                "Answered": own["answered"],
                "Median first response": [
                    agg.format_duration(m * 60) for m in own["ttfr_median_minutes"]
                ],
                "Deflected (%)": own["deflection_rate"] * 100,
                "Resolved in public (%)": own["resolution_rate"] * 100,
                "Weeks seen": own["periods_seen"],
                "Recurs": own["recurring"],
            }
        ),
        f"topics-{focus}",
    )

st.header("One topic across brands")
topics = [t for t in overall["topic"].drop_duplicates() if t != OTHER] or [OTHER]
chosen = st.selectbox("Topic", sorted(topics), key="topics_compare")
across = overall[overall["topic"] == chosen].set_index("brand").reindex(list(view.brands))
show_table(
    pd.DataFrame(
        {
            "Brand": across.index,
            "Care requests": across["care_requests"].fillna(0).astype(int).to_numpy(),
            "Share of the brand's care requests (%)": (across["share"] * 100).to_numpy(),
            "Deflected (%)": (across["deflection_rate"] * 100).to_numpy(),
            "Resolved in public (%)": (across["resolution_rate"] * 100).to_numpy(),
            "Recurs": across["recurring"].fillna(False).astype(bool).to_numpy(),
        }
    ),
    f"topic-{chosen}-by-brand",
)
st.caption("Rates are over the answered care requests of that topic; small counts are noisy.")


@st.cache_data(max_entries=4, show_spinner="Looking for themes the taxonomy misses...")
def _themes(version: StoreVersion, anonymised: bool, brands: tuple[str, ...]) -> pd.DataFrame:
    # The conversations of the view's brands over the store's whole time range: themes
    # are found once per store version and brand set, not at every filter change.
    conversations = view.analysis.conversations
    return other_themes(conversations[conversations["brand"].isin(list(brands))])


st.header("Themes the taxonomy misses")
st.caption(
    "Care requests filed under `other`, grouped by the words they share (TF-IDF + NMF over "
    "a seeded sample of at most 20,000 posts): candidates for a new topic, or a one-off "
    "event (a promotion, a storm) worth knowing about."
)
# Found on request: on a big store the search takes seconds, and a page change must not.
# Once asked for, they are shown for this store and these brands until either changes.
asked = (view.version, filters.anonymise, tuple(view.brands))
if st.session_state.get("topics_themes_for") != asked:
    if not st.button(
        "Find themes",
        key="topics_find_themes",
        icon=":material/search:",
        help="Takes a few seconds on a big store; kept for these brands afterwards.",
    ):
        st.stop()
    st.session_state["topics_themes_for"] = asked
themes = _themes(*asked)
if themes.empty:
    st.info("Too few `other` care requests in these brands to find themes (40 per theme).")
else:
    for row in themes.to_dict("records"):
        with st.expander(
            f"Theme {row['theme']}: {row['terms']} ({int(row['size']):,} posts, "
            f"{float(row['share']) * 100:.0f}% of the `other` requests read)"
        ):
            st.caption(f"Mostly from: {md(str(row['brands']))}")
            for example in list(row["examples"]):
                st.text(str(example))
