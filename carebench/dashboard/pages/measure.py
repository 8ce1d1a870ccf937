"""How we measure: how far CareBench's per-conversation labels agree with independent readers.

Its own page rather than a section of Data: Data is about this store, these figures are
about the tool and hold for every store, and a consultant asked "can I trust this
number?" should find the answer in the navigation, not under the import log.
"""

from __future__ import annotations

import streamlit as st

from carebench.dashboard import accuracy
from carebench.dashboard.charts import show_table
from carebench.dashboard.data import load_view
from carebench.dashboard.escaping import md

# Not used for the figures (they do not depend on the store), but the sidebar keeps its
# filters across pages only when every page draws it.
load_view(require_data=False)

st.title("How we measure")
st.caption("How far CareBench's labels agree with careful independent reading of real threads.")

try:
    figures = accuracy.load_published()
except accuracy.BadAccuracyFile as exc:
    st.error(md(exc))
    figures = None
else:
    if figures is None:
        st.info(
            "This installation has no published accuracy figures "
            f"(`carebench/{accuracy.PUBLISHED_FILE}` is missing), so this page cannot say "
            "how far the labels can be trusted. Measure them against your own human "
            "labels with `carebench validate LABELS.jsonl --split test`."
        )

st.markdown(
    "Every figure in this dashboard counts labels CareBench puts on each conversation: "
    "is it a care request, did the brand send the customer elsewhere (and already at its "
    "first reply), was the first reply empathic, and how did it end in public. To know "
    "how far those labels can be trusted, two independent readers (AI assistants "
    "given only the written rubric and each thread) labelled real customer-care "
    "conversations (Twitter threads and IBM customer-care dialogs) without seeing "
    "CareBench's answers, and a third settled their disagreements. The figures below compare "
    "CareBench with them on the test half of that set, whose brands CareBench's rules "
    "were never tuned on (no brand is in both halves). 1.00 is perfect agreement; the "
    "bracket is the 95% interval, the range the true figure lies in given how many "
    "conversations were read (n), so a small n means a wide range. Precision: of the "
    "conversations CareBench calls deflected, the share a reader agrees are; recall: of "
    "those a reader calls deflected, the share CareBench finds. Outcome labels are the "
    "least certain: whether a problem was solved is often not said in public, and even "
    "readers disagree most there. Quote the resolution rate with its unknown share, and "
    "as a comparison between brands measured the same way rather than an absolute; a "
    "gap between brands smaller than the errors here is not a finding."
)

if figures is not None:
    table = accuracy.accuracy_table(figures)
    show_table(
        table,
        "published-accuracy",
        column_config={c: st.column_config.TextColumn() for c in table.columns},
    )
    st.caption(
        "Measured with `carebench validate evaluation/labels.jsonl --data ../shared/data "
        "--split test`; the README's accuracy table has the same figures and how the "
        "labels were drawn and read."
    )
