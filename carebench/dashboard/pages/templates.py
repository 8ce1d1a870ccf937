"""Templates: each brand's most copy-pasted replies, how often, and real examples."""

from __future__ import annotations

import streamlit as st

from carebench.dashboard import aggregates as agg
from carebench.dashboard.charts import (
    brand_colours,
    export_meta,
    interval_chart,
    md,
    slug,
    table_csv,
    title,
)
from carebench.dashboard.data import load_view
from carebench.dashboard.drill_widgets import clickable_chart
from carebench.dashboard.drilldown import Drill

view = load_view(reply_only_ok=True)
card = view.scorecard()

st.title("Templates")
st.caption(
    "A template is a group of three or more near-identical replies of one brand (same "
    "words once handles, links, numbers and agent sign-offs are masked). Templates are "
    "found over every post a brand wrote, whatever the date filter."
)

templated = agg.METRIC_BY_COLUMN["templated_ratio"]
if len(card):
    clickable_chart(
        interval_chart(
            agg.interval_table(card, templated, view.settings.min_sample),
            view.brands,
            title(
                "Share of brand replies that are templated (lower = more personal)",
                "Dot = share, bar = 95% interval; n = brand posts in the conversations "
                "shown; bold = focus brand",
            ),
            "Templated replies (%)",
            colours=brand_colours(view.loaded.options.brands),
        ),
        "templated-ratio",
        ["brand"],
        lambda picked: Drill("templated_ratio", str(picked["brand"])),
        meta=export_meta(view),
    )

brand = st.selectbox("Brand", list(view.brands), key="templates_brand")
table = agg.template_table(view.templates, brand)
if table.empty:
    st.info(f"{md(brand)} sends no reply three times or more: no templates found.")
else:
    st.subheader(f"Top templates of {md(brand)}")
    examples = agg.template_examples(view.templates, brand)
    # One card per template: the example wraps and stays readable on a projector,
    # where a table cell would cut it off.
    for number, (posts, share, texts) in enumerate(
        zip(table["Posts"], table["Share of brand posts (%)"], examples, strict=True), start=1
    ):
        with st.container(border=True):
            st.markdown(f"**{number}. {posts:,} posts** · {share:.1f}% of the brand's posts")
            # st.text: post text is shown as typed, never read as markdown or HTML.
            st.text(texts[0] if texts else "")
            if len(texts) > 1:
                with st.expander(f"{len(texts) - 1} more real examples"):
                    for text in texts[1:]:
                        st.text(text)
    st.download_button(
        "CSV of these templates (three examples each)",
        data=lambda: table_csv(agg.rounded(table)),
        file_name=f"templates-{slug(brand)}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="csv-templates",
    )
