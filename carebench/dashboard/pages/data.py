"""Data: where the posts came from, how clean they are, and importing a TWCS file.

Anyone who can open the dashboard sees this page, so it names files, never the
server's folders (the store, the imported files, the upload target).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from carebench.benchmark.anonymise import mask_text
from carebench.benchmark.quality import date_outliers, hygiene_issues, source_table
from carebench.dashboard import aggregates as agg
from carebench.dashboard.charts import show_table
from carebench.dashboard.data import brands_path, import_uploads, load_view, upload_target
from carebench.dashboard.escaping import code, file_name, md, without_folders
from carebench.dashboard.reply_only import explain, is_reply_only, show_style, style_table
from carebench.errors import CareBenchError
from carebench.store import resolve_db_path

view = load_view(require_data=False, need_sources=True)
loaded = view.loaded

reply_only = is_reply_only(loaded.posts, view.analysis.conversations)
# A store of replies only names its brands by who wrote the posts, not by conversations.
style = style_table(view.version, brands_path(), view.analysis.templates) if reply_only else None
brands = len(style) if style is not None else len(loaded.options.brands)

st.title("Data")
st.caption(
    f"Store: {code(file_name(view.store_path))} · {loaded.posts:,} posts · "
    f"{len(view.analysis.conversations):,} conversations · {brands:,} brands"
)

if style is not None:
    explain(loaded.posts, page_links=False)
    show_style(style)

st.header("Sources")
if loaded.imports.empty:
    st.info("Nothing imported yet.")
else:
    show_table(agg.sources_table(loaded.imports), "imports")
    if view.sources is not None and len(view.analysis.conversations):
        st.caption(
            "Conversations by source (the file their first post was imported from): the "
            "dates each covers. Sources of different years pool into every figure unless "
            "you pick sources in the sidebar."
        )
        show_table(source_table(view.analysis.conversations, view.sources), "sources")

st.header("Data quality")
# Dates and sources first: they change what every figure pools.
issues = pd.concat(
    [
        hygiene_issues(view.analysis.conversations, view.sources),
        agg.issue_table(view.analysis.issues, len(loaded.rejected)),
    ],
    ignore_index=True,
)
show_table(
    issues, "data-quality", column_config={"Meaning": st.column_config.TextColumn(width="large")}
)
outliers = date_outliers(view.analysis.conversations)
if len(outliers):
    st.subheader("Outlier dates")
    st.caption(
        f"{len(outliers):,} conversations opened far from the bulk of the data. The "
        "sidebar's default date range leaves them out, so they do not stretch every "
        "range and time axis; widen the dates to include them."
    )
    show_table(
        pd.DataFrame(
            {
                "opened": outliers["opened_at"].to_numpy(),
                "brand": outliers["brand"].to_numpy(),
                "conversation_id": outliers["conversation_id"].to_numpy(),
                "first post": outliers["root_text"].to_numpy(),
            }
        ),
        "outlier-dates",
        column_config={
            "opened": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "first post": st.column_config.TextColumn(width="large"),
        },
    )

if not loaded.rejected.empty:
    st.subheader("Rejected rows")
    rejected = loaded.rejected.assign(source=loaded.rejected["source"].map(file_name))
    if view.filters.anonymise:
        # Raw rows hold customer handles and text the anonymiser never sees.
        rejected = rejected.drop(columns=["raw"])
        # A reason may quote a value of the row (an at:// id holding a DID).
        rejected["reason"] = mask_text(rejected["reason"].astype("string")).to_numpy()
        st.caption("Raw row text is hidden while customers are anonymised.")
    show_table(rejected, "rejected-rows")
    if len(loaded.rejected) >= 1000:
        st.caption("The first 1,000 rejected rows; `carebench` keeps them all in the store.")

st.header("Import a TWCS CSV")
target = upload_target(view.store_path, view.is_demo)
if view.is_demo:
    opens = target.resolve() == resolve_db_path().resolve()
    st.info(
        f"This is the demo store, which holds generated data only. An upload goes to a "
        f"new real store, {code(file_name(target))}, instead, so real and generated posts "
        "never mix"
        + (
            "; the dashboard switches to it once the import lands."
            if opens
            # Only when CAREBENCH_DB names the demo: the upload goes to the default store.
            else ". To open it, start the dashboard without `CAREBENCH_DB`: it is the "
            "default store."
        )
    )
st.caption(
    "Same rules as `carebench import twcs`: every file is checked first, then all of "
    "them land in one transaction or nothing changes. Posts are keyed by id, so "
    "importing a file twice changes nothing. For files over the upload limit use the CLI."
)
with st.form("upload", clear_on_submit=True):
    files = st.file_uploader(
        "TWCS CSV files", type=["csv"], accept_multiple_files=True, key="upload_files"
    )
    submitted = st.form_submit_button("Import", type="primary")
if submitted:
    if not files:
        st.warning("Choose at least one CSV file first.")
    else:
        try:
            with st.spinner("Importing..."):
                summaries = import_uploads(target, [(f.name, f.getvalue()) for f in files])
        except CareBenchError as exc:
            # The message names the user's file: escaped, shown as the CLI prints it.
            st.error(md(without_folders(str(exc), target)))
        else:
            st.session_state["carebench_last_import"] = (str(target), summaries)
            st.rerun()

last = st.session_state.get("carebench_last_import")
if last:
    where, summaries = last
    st.success(f"Imported into {md(file_name(where))}.")
    for summary in summaries:
        st.text(
            f"{summary.source}: {summary.records_read:,} read, {summary.posts_new:,} new, "
            f"{summary.posts_updated:,} updated, {summary.posts_unchanged:,} unchanged, "
            f"{summary.duplicates_in_source:,} duplicates in the file, "
            f"{summary.rejected:,} rejected"
        )
        for line, reason in summary.rejected_examples:
            st.text(f"  line {line}: {reason}")
