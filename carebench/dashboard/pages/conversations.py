"""Conversations: filter, read annotated threads, a good/bad gallery, and workshop pins."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from carebench.benchmark.anonymise import mask_text, pseudonymise_ids
from carebench.benchmark.quality import QUALITY_WEIGHTS, gallery, quality_reasons, quality_score
from carebench.benchmark.scoring import OUTCOMES
from carebench.dashboard.charts import md, show_table, table_csv
from carebench.dashboard.data import View, load_view, view_thread, writable_store
from carebench.dashboard.drilldown import (
    DRILL_PARAMS,
    Drilled,
    Part,
    drill_conversations,
    words,
)
from carebench.dashboard.drilldown import parse_query as parse_drill
from carebench.dashboard.thread_view import (
    SORT_LABELS,
    AnnotatedTurn,
    ThreadFilter,
    annotate_thread,
    conversation_list,
    duration,
    find_conversation,
    label_reasons,
    search_conversations,
    select_conversations,
    thread_html,
    thread_rows,
)
from carebench.errors import CareBenchError
from carebench.store import Store

ANY = "Any"
YES_NO = {ANY: None, "Yes": True, "No": False}
SPEED = {ANY: None, "Over SLA (slow)": True, "Within SLA": False}
LIST_SIZES = (25, 50, 100, 200, 500)
GALLERY_SIZES = (3, 5, 10)


def page_filters(view: View) -> ThreadFilter:
    """The page's own filters, in one row above the list."""
    cols = st.columns([1.3, 1.3, 1, 1, 1.2, 1])
    brand = cols[0].selectbox("Brand", ["All brands", *view.brands], key="conv_brand")
    outcomes = cols[1].multiselect("Outcome", list(OUTCOMES), key="conv_outcome")
    deflected = cols[2].selectbox("Deflected", list(YES_NO), key="conv_deflected")
    templated = cols[3].selectbox("Templated", list(YES_NO), key="conv_templated")
    slow = cols[4].selectbox("First response", list(SPEED), key="conv_slow")
    empathy = cols[5].selectbox("Empathy", list(YES_NO), key="conv_empathy")
    return ThreadFilter(
        brands=() if brand == "All brands" else (brand,),
        outcomes=tuple(outcomes),
        deflected=YES_NO[deflected],
        templated=YES_NO[templated],
        slow=SPEED[slow],
        empathy=YES_NO[empathy],
    )


def _linked_thread(view: View) -> str | None:
    """The thread a link names, as "platform\x1fid", if this view holds that conversation.

    With anonymise on the link holds the conversation's pseudonym (the sidebar writes it
    there, see `filters`); a raw id or a pseudonym opens the thread in either view.
    """
    conversation_id = st.query_params.get("thread")
    if not conversation_id:
        return None
    platform = st.query_params.get("thread_platform")
    found = find_conversation(view.conversations, conversation_id, platform, view.filters.anonymise)
    if found.empty:
        st.caption(
            f"The linked thread {md(conversation_id)} is not among the conversations the "
            "filters keep."
        )
        return None
    return f"{found['platform'].iloc[0]}\x1f{found['conversation_id'].iloc[0]}"


def _same_thread(view: View, key: str | None) -> str | None:
    """The open thread's key in this view, after anonymise was switched (its id form changed)."""
    if not key or "\x1f" not in key:
        return None
    platform, conversation_id = key.split("\x1f", 1)
    found = find_conversation(view.conversations, conversation_id, platform, view.filters.anonymise)
    if found.empty or str(found["conversation_id"].iloc[0]) == conversation_id:
        return None  # gone from the view, or the same form: the list decides as before
    return f"{found['platform'].iloc[0]}\x1f{found['conversation_id'].iloc[0]}"


def raw_conversation_id(view: View, platform: str, conversation_id: str) -> str:
    """The stored id of a conversation of the view (pins are stored by it): anonymised
    views show pseudonyms, and their rows line up with the raw analysis'."""
    if not view.filters.anonymise:
        return conversation_id
    shown = view.analysis.conversations
    keep = (shown["conversation_id"].astype("string") == conversation_id) & (
        shown["platform"].astype("string") == platform
    )
    label = shown.index[keep.fillna(False).to_numpy(dtype=bool)][0]
    return str(view.loaded.analysis.conversations.at[label, "conversation_id"])


def show_thread(
    view: View,
    platform: str,
    conversation_id: str,
    key: str,
    *,
    among: pd.DataFrame | None = None,
    row: pd.DataFrame | None = None,
    pin: bool = True,
) -> None:
    """One conversation: its summary line, the annotated thread and the pin controls.

    `among` is where to find the conversation (the view's, by default; a pinned thread
    is looked up among every conversation, whatever the filters); a caller holding the
    conversation's row passes it as `row` (a one-row frame), which spares the search.
    """
    if row is None:
        source = view.conversations if among is None else among
        row = source[
            (source["conversation_id"].astype("string") == conversation_id)
            & (source["platform"].astype("string") == platform)
        ]
    if row.empty:
        st.info("This conversation is not in the current view.")
        return
    sla = view.settings.sla_seconds
    quality = quality_score(row, sla).iloc[0]
    reasons = quality_reasons(row, sla).iloc[0]
    conversation = row.iloc[0]
    facts = [
        f"**{md(conversation['brand'])}**",
        f"opened {conversation['opened_at']:%Y-%m-%d %H:%M} UTC",
        f"first response {duration(float(conversation['ttfr_seconds']))}",
        f"outcome **{md(conversation['outcome'])}**",
        "quality " + ("-" if pd.isna(quality) else f"**{quality:.0f}**/100"),
    ]
    st.markdown(" · ".join(facts))
    if reasons:
        st.caption("Why: " + md(reasons))
    st.caption("Labels: " + md(label_reasons(row).iloc[0]))
    turns = annotated(view, platform, conversation_id)
    # Post text is escaped inside thread_html; st.html reads neither markdown nor LaTeX.
    st.html(thread_html(turns))
    if pin:
        pin_controls(view, platform, conversation_id, str(conversation["brand"]), key)


def annotated(view: View, platform: str, conversation_id: str) -> list[AnnotatedTurn]:
    """The annotated turns of one conversation of the view's analysis."""
    thread, sizes = view_thread(view, platform, conversation_id)
    return annotate_thread(thread, view.settings.sla_seconds, sizes)


def pin_controls(view: View, platform: str, conversation_id: str, brand: str, key: str) -> None:
    """A note and a button that pin the thread to the workshop list in the store."""
    # The button's column is wide enough for its whole label at 1280 px.
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    note = left.text_input(
        "Note for the workshop (optional)",
        key=f"{key}_note",
        placeholder="e.g. good example of owning the problem in public",
    )
    if right.button(
        "Pin this thread", key=f"{key}_pin", icon=":material/push_pin:", width="stretch"
    ):
        try:
            # Read-write only for this one statement, so imports and other readers wait
            # milliseconds at most.
            stored_id = raw_conversation_id(view, platform, conversation_id)
            with writable_store(view.store_path) as store:
                store.pin(platform, stored_id, brand, note.strip() or None)
        except CareBenchError as exc:
            st.error(f"Could not pin this thread: {md(exc)}")
        else:
            st.toast(f"Pinned conversation {md(conversation_id)}.")


def read_pins(view: View) -> pd.DataFrame | None:
    """The pins in the store (opened read-only, briefly); None when it cannot be read."""
    try:
        with Store(view.store_path, read_only=True) as store:
            return store.pins()
    except CareBenchError as exc:
        st.warning(f"Could not read the pinned threads just now: {md(exc)}")
        return None


def pins_table(pins: pd.DataFrame, view: View) -> pd.DataFrame:
    """Pins with what a workshop needs beside them (from the view: masked when anonymised).

    Pins are stored by raw id; anonymised, the table shows (and its CSV holds) the
    pseudonyms the view uses, and the notes masked like post text.
    """
    if view.filters.anonymise:
        conversations = view.analysis.conversations
        brands = pd.concat([conversations["brand"], conversations["brand_account"]]).dropna()
        # A note may name the customer by handle, without @: their root post's author.
        raw = view.loaded.analysis.turns
        roots = raw[raw["post_id"].isin(pins["conversation_id"].dropna().tolist())]
        author = dict(zip(roots["post_id"], roots["author_handle"], strict=True))
        pins = pins.assign(
            conversation_id=pseudonymise_ids(pins["conversation_id"]).to_numpy(),
            note=mask_text(
                pins["note"].astype("string"),
                brand_handles=brands.unique().tolist(),
                handles=pins["conversation_id"].map(author).astype("string"),
            ).to_numpy(),
        )
    conversations = view.analysis.conversations
    conversations = conversations[
        conversations["conversation_id"].isin(pins["conversation_id"].dropna().tolist())
    ]
    keyed = conversations.assign(
        platform=conversations["platform"].astype("string"),
        conversation_id=conversations["conversation_id"].astype("string"),
    ).set_index(["platform", "conversation_id"])
    wanted = pd.MultiIndex.from_frame(pins[["platform", "conversation_id"]].astype("string"))
    found = keyed.reindex(wanted)
    sla = view.settings.sla_seconds
    present = found["opened_at"].notna().to_numpy()
    quality = pd.Series(float("nan"), index=found.index)
    reasons = pd.Series("", index=found.index, dtype="string")
    if present.any():
        quality[present] = quality_score(found[present], sla).to_numpy()
        reasons[present] = quality_reasons(found[present], sla).to_numpy()
    return pd.DataFrame(
        {
            "pinned": pins["pinned_at"].to_numpy(),
            "brand": pins["brand"].to_numpy(),
            "platform": pins["platform"].to_numpy(),
            "conversation_id": pins["conversation_id"].to_numpy(),
            "note": pins["note"].to_numpy(),
            "opened": found["opened_at"].to_numpy(),
            "customer": found["customer_id"].to_numpy(),
            "first post": found["root_text"].to_numpy(),
            "outcome": found["outcome"].to_numpy(),
            "quality": quality.round(1).to_numpy(),
            "why": reasons.to_numpy(),
        }
    )


def drilled_view(view: View) -> Drilled | None:
    """The figure the address drills into (from a tile, row or mark of another page), with
    a banner saying what is listed and a way back to every conversation."""
    params = {name: st.query_params.get(name, "") for name in DRILL_PARAMS}
    drill, problem = parse_drill(params)
    if problem:
        st.warning(f"Drill-down link ignored: {md(problem)}.")
    if drill is None:
        return None
    counted = words(drill.metric)[1]
    # The banner first, the controls under it; the toggle decides what the banner says.
    banner = st.empty()
    left, right = st.columns([4, 1], vertical_alignment="center")
    hits_only = bool(counted) and left.toggle(
        f"Only the conversations counted as {counted}",
        value=drill.part == "hits",
        key="conv_drill_hits",
    )
    part: Part = "hits" if hits_only else "n"
    if part != drill.part:
        drill = replace(drill, part=part)
        if part == "hits":
            st.query_params["drill_part"] = "hits"
        elif "drill_part" in st.query_params:
            del st.query_params["drill_part"]
    drilled = drill_conversations(view.conversations, drill, view.settings)
    banner.info(f"**{md(drill.label)}**: {md(drilled.summary)}.", icon=":material/filter_alt:")
    if right.button("Show all", key="conv_drill_clear", width="stretch", icon=":material/close:"):
        for name in DRILL_PARAMS:
            if name in st.query_params:
                del st.query_params[name]
        st.session_state.pop("conv_drill_hits", None)
        st.rerun()
    return drilled


def list_config() -> dict[str, Any]:
    return {
        "opened": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "first post": st.column_config.TextColumn(width="large"),
        "why": st.column_config.TextColumn(width="large"),
        "labels": st.column_config.TextColumn(width="large"),
        "quality": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f"),
        "first response (min)": st.column_config.NumberColumn(format="%.1f"),
    }


def clickable_list(listed: pd.DataFrame, key: str) -> str | None:
    """The list as a table whose row, clicked, opens its thread; the newly clicked
    conversation as "platform\x1fid" (None when no new click)."""
    keys = [
        f"{platform}\x1f{conversation_id}"
        for platform, conversation_id in zip(
            listed["platform"], listed["conversation_id"], strict=True
        )
    ]
    # The widget's key follows the rows it shows: a selection always names a row of this
    # list, never the row at the same place in the list before the filters changed.
    widget = f"{key}_{hashlib.blake2b(chr(10).join(keys).encode(), digest_size=6).hexdigest()}"
    event = st.dataframe(
        listed.drop(columns=["platform"]),
        hide_index=True,
        column_config=list_config(),
        on_select="rerun",
        selection_mode="single-row",
        key=widget,
    )
    rows = list(event.selection.rows) if event is not None else []
    if not rows or rows[0] >= len(keys):
        return None
    picked = (widget, int(rows[0]))
    if st.session_state.get(f"{key}_picked") == picked:
        return None  # the same click as before: the open thread may have changed since
    st.session_state[f"{key}_picked"] = picked
    return keys[rows[0]]


def _in_view(view: View, key: str | None) -> bool:
    if not key or "\x1f" not in key:
        return False
    platform, conversation_id = key.split("\x1f", 1)
    c = view.conversations
    return bool(
        (
            (c["conversation_id"].astype("string") == conversation_id)
            & (c["platform"].astype("string") == platform)
        )
        .fillna(False)
        .any()
    )


def default_thread(view: View, listed: pd.DataFrame) -> str | None:
    """The thread opened when none is chosen: the focus brand's first in the list (the
    workshop is about it), else the list's first."""
    if listed.empty:
        return None
    own = listed[listed["brand"] == view.filters.focus]
    row = (own if len(own) else listed).iloc[0]
    return f"{row['platform']}\x1f{row['conversation_id']}"


def pinned_threads_csv(view: View, table: pd.DataFrame) -> str:
    """Every turn of every pinned thread (role, time, text, annotations), one row per
    turn, beside its pin: the workshop hand-out. Written by `table_csv` (formula-safe),
    from the view's analysis (anonymised when the view is)."""
    frames = []
    for pin in table.to_dict("records"):
        if pd.isna(pin["opened"]):
            continue  # no longer in the store
        turns = annotated(view, str(pin["platform"]), str(pin["conversation_id"]))
        rows = thread_rows(turns)
        for column in ("note", "conversation_id", "platform", "brand", "pinned"):
            rows.insert(0, column, pin[column])
        frames.append(rows)
    if not frames:
        return table_csv(pd.DataFrame(columns=["pinned", "brand", "platform", "conversation_id"]))
    return table_csv(pd.concat(frames, ignore_index=True))


view = load_view()
sla_seconds = view.settings.sla_seconds
state = st.session_state

st.title("Conversations")
st.caption(
    "Read the threads behind the numbers. Search and filter below (on top of the "
    "sidebar's brands, dates and platform), click a row to open its thread with each "
    "reply annotated: where it deflects, the template it comes from and how often the "
    "brand sent it, the empathy line, the agent's sign-off, and replies slower than the "
    "SLA. Pin threads for the workshop."
)

drilled = drilled_view(view)
base = view.conversations if drilled is None else drilled.conversations
search = st.text_input(
    "Search the posts",
    key="conv_search",
    placeholder="words in the customer's or the brand's posts, e.g. refund, dm us",
    help="Case-insensitive; finds conversations with a post (customer or brand) "
    "containing these words as typed.",
)
wanted = page_filters(view)
matching = select_conversations(base, wanted, sla_seconds)
if search.strip():
    matching = search_conversations(matching, view.turns, search)

left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
left.markdown(f"**{len(matching):,}** of {len(base):,} conversations match.")
order = middle.selectbox(
    "Order", list(SORT_LABELS), format_func=SORT_LABELS.__getitem__, key="conv_order"
)
limit = right.selectbox("Show", LIST_SIZES, index=2, key="conv_limit")
# Only the first rows go to the browser; the CSV holds every matching conversation.
listed = conversation_list(matching, sla_seconds, order or "newest", int(limit or 100))
picked: str | None = None
if listed.empty:
    st.info("No conversation matches these filters.")
else:
    picked = clickable_list(listed, "conv_list")
    if len(matching) > len(listed):
        st.caption(f"First {len(listed):,} of {len(matching):,} shown; the CSV has them all.")
    st.download_button(
        "CSV",
        data=lambda: table_csv(
            conversation_list(matching, sla_seconds, order or "newest", len(matching)).drop(
                columns=["platform"]
            )
        ),
        file_name="conversations.csv",
        mime="text/csv",
        key="csv-conversations",
        on_click="ignore",
        icon=":material/download:",
    )

st.header("Read a thread")
# A shared link can name the open thread (?thread=ID&thread_platform=P): it opens first,
# even when the list above would not show it, as long as the view holds it.
linked = _linked_thread(view)
if picked:
    state["conv_open"] = picked
elif linked and "conv_open" not in state:
    state["conv_open"] = linked
opened = state.get("conv_open")
if opened and not _in_view(view, opened):
    # Anonymise was switched (the id changed form), or the filters dropped the thread.
    opened = _same_thread(view, opened)
if not opened:
    opened = default_thread(view, listed)
state["conv_open"] = opened
if not opened:
    st.caption("Loosen the filters above to choose a thread.")
else:
    platform, conversation_id = opened.split("\x1f", 1)
    if (st.query_params.get("thread"), st.query_params.get("thread_platform")) != (
        conversation_id,
        platform,
    ):
        st.query_params["thread"] = conversation_id
        st.query_params["thread_platform"] = platform
    st.caption(
        f"Conversation {md(conversation_id)}. Click another row above to open it; the "
        "open thread is in the page address, so a link to it can be shared."
    )
    show_thread(view, platform, conversation_id, "conv_thread")

st.header("Gallery: best and worst threads")
weights = ", ".join(f"{name.replace('_', ' ')} {w:g}" for name, w in QUALITY_WEIGHTS.items())
st.caption(
    "Ranked by the quality score (0-100) of answered care requests matching the filters "
    f"above. Points: {weights}. The exact rules are in `carebench/benchmark/quality.py`."
)
g_left, g_right = st.columns([3, 1])
gallery_brand = g_left.selectbox("Brand", list(view.brands), key="conv_gallery_brand")
per_side = g_right.selectbox("Threads per side", GALLERY_SIZES, index=0, key="conv_gallery_n")
chosen_rows = matching[matching["brand"] == gallery_brand]
shown = gallery(chosen_rows, sla_seconds, int(per_side))
if shown.empty:
    st.info(f"{md(gallery_brand)} has no answered care request matching these filters.")
else:
    summary = shown[
        ["side", "rank", "brand", "conversation_id", "opened_at", "quality", "reasons"]
    ].rename(columns={"opened_at": "opened", "reasons": "why"})
    summary["labels"] = label_reasons(shown)
    show_table(summary, f"gallery-{gallery_brand}", column_config=list_config())
    for side in ("best", "worst"):
        st.subheader("Best" if side == "best" else "Worst")
        for row in shown[shown["side"] == side].itertuples():
            title = f"#{row.rank} · quality {row.quality:.0f} · {row.reasons}"
            with st.expander(title, expanded=False):
                show_thread(
                    view,
                    str(row.platform),
                    str(row.conversation_id),
                    f"conv_gallery_{side}_{row.rank}",
                    row=shown.loc[[row.Index]],
                )

st.header("Pinned for the workshop")
pins = read_pins(view)
if pins is not None:
    if pins.empty:
        st.caption("Nothing pinned yet: open a thread and pin it.")
    else:
        table = pins_table(pins, view)
        pin_keys = [
            f"{platform}\x1f{conversation_id}"
            for platform, conversation_id in zip(
                table["platform"], table["conversation_id"], strict=True
            )
        ]
        event = st.dataframe(
            table,
            hide_index=True,
            column_config={
                "pinned": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                "opened": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                "first post": st.column_config.TextColumn(width="large"),
                "quality": st.column_config.NumberColumn(format="%.0f"),
            },
            on_select="rerun",
            selection_mode="single-row",
            key="conv_pins_list",
        )
        st.caption("Click a pin to read its thread below.")
        d_left, d_right, _ = st.columns([1, 2, 3])
        d_left.download_button(
            "Pins CSV",
            data=lambda: table_csv(table),
            file_name="workshop-pins.csv",
            mime="text/csv",
            key="csv-workshop-pins",
            on_click="ignore",
            icon=":material/download:",
        )
        d_right.download_button(
            "Pinned threads CSV (every turn)",
            data=lambda: pinned_threads_csv(view, table),
            file_name="workshop-threads.csv",
            mime="text/csv",
            key="csv-workshop-threads",
            on_click="ignore",
            icon=":material/download:",
            help="One row per post of every pinned thread: role, author, time, delay, "
            "text and the annotations the thread view shows.",
        )
        rows = list(event.selection.rows) if event is not None else []
        if rows and rows[0] < len(pin_keys):
            pin_platform, pin_id = pin_keys[rows[0]].split("\x1f", 1)
            with st.container(border=True):
                show_thread(
                    view,
                    pin_platform,
                    pin_id,
                    "conv_pin_thread",
                    among=view.analysis.conversations,
                    pin=False,
                )
        u_left, u_right = st.columns([3, 1], vertical_alignment="bottom")
        to_unpin = u_left.selectbox(
            "Unpin",
            list(range(len(pin_keys))),
            format_func=lambda i: pin_keys[i].replace("\x1f", " · "),
            key="conv_unpin_choice",
        )
        if u_right.button(
            "Unpin", key="conv_unpin", icon=":material/delete:", width="stretch"
        ) and (to_unpin is not None):
            platform = str(pins["platform"].iloc[to_unpin])
            conversation_id = str(pins["conversation_id"].iloc[to_unpin])
            try:
                with writable_store(view.store_path) as store:
                    store.unpin(platform, conversation_id)
            except CareBenchError as exc:
                st.error(f"Could not unpin: {md(exc)}")
            else:
                st.rerun()
