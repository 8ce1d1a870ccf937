"""CareBench dashboard entry point: `streamlit run streamlit_app.py`.

This file only routes. Each page loads its own view (store, filters, demo banner)
through `carebench.dashboard.data.load_view`, so pages can also be tested alone.
The store is resolve_db_path(): $CAREBENCH_DB, else data/carebench.duckdb, else the
generated demo store (built on first use). A page that fails shows a plain message and
logs its traceback (`carebench.dashboard.page_guard`).
"""

from __future__ import annotations

import streamlit as st

# Imported before any page loads pandas (and with it pyarrow), so the package's memory
# setting for Arrow applies to the dashboard too (see carebench/__init__.py).
import carebench  # noqa: F401

PAGES = "carebench/dashboard/pages"

st.set_page_config(page_title="CareBench", page_icon=":material/support_agent:", layout="wide")
# The first run of a server loads the analysis libraries (seconds on a busy machine):
# the page says so at once instead of staying blank, and the line goes once it is drawn.
loading = st.empty()
loading.caption("Opening CareBench...")

from carebench.dashboard.page_guard import run_page  # noqa: E402

navigation = st.navigation(
    [
        st.Page(
            f"{PAGES}/scorecard.py", title="Scorecard", icon=":material/leaderboard:", default=True
        ),
        st.Page(f"{PAGES}/speed.py", title="Speed", icon=":material/timer:"),
        st.Page(
            f"{PAGES}/deflection.py", title="Deflection & resolution", icon=":material/alt_route:"
        ),
        st.Page(f"{PAGES}/templates.py", title="Templates", icon=":material/content_copy:"),
        st.Page(f"{PAGES}/conversations.py", title="Conversations", icon=":material/forum:"),
        st.Page(f"{PAGES}/trends.py", title="Trends", icon=":material/show_chart:"),
        st.Page(f"{PAGES}/topics.py", title="Recurring issues", icon=":material/repeat:"),
        st.Page(f"{PAGES}/measure.py", title="How we measure", icon=":material/rule:"),
        st.Page(f"{PAGES}/data.py", title="Data", icon=":material/database:"),
    ]
)
try:
    run_page(navigation)
finally:
    loading.empty()
