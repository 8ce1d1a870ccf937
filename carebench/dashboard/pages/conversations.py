"""Conversations: filter, read annotated threads, a good/bad gallery, and workshop pins."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from carebench.benchmark.anonymise import mask_text, pseudonymise_ids
from carebench.benchmark.quality import QUALITY_WEIGHTS, gallery, quality_reasons, quality_score
from carebench.benchmark.scoring import OUTCOMES
from carebench.dashboard.charts import md, show_table
from carebench.dashboard.data import View, load_view
from carebench.dashboard.thread_view import (
    SORT_LABELS,
    ThreadFilter,
    ThreadIndex,
    annotate_thread,
    conversation_list,
    duration,
    find_conversation,
    label_reasons,
    select_conversations,
    template_sizes,
    thread_html,
    thread_index,
)
from carebench.errors import CareBenchError
from carebench.store import Store

ANY = "Any"
YES_NO = {ANY: None, "Yes": True, "No": False}
SPEED = {ANY: None, "Over SLA (slow)": True, "Within SLA": False}
LIST_SIZES = (25, 50, 100, 200, 500)
GALLERY_SIZES = (3, 5, 10)


@st.cache_resource(max_entries=4, show_spinner=False)
def _sizes(version: object, _turns: pd.DataFrame, _templates: pd.DataFrame) -> dict[str, int]:
    # Template ids do not depend on anonymising: one count per store version.
    return template_sizes(_turns, _templates)


@st.cache_resource(max_entries=4, show_spinner=False)
def _index(version: object, anonymised: bool, _turns: pd.DataFrame) -> ThreadIndex:
    return thread_index(_turns)


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


def show_thread(view: View, platform: str, conversation_id: str, key: str) -> None:
    """One conversation: its summary line, the annotated thread and the pin controls."""
    row = view.conversations[
        (view.conversations["conversation_id"].astype("string") == conversation_id)
        & (view.conversations["platform"].astype("string") == platform)
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
    sizes = _sizes(view.version, view.analysis.turns, view.analysis.templates)
    index = _index(view.version, view.filters.anonymise, view.analysis.turns)
    thread = view.analysis.turns.iloc[index.positions(platform, conversation_id)]
    turns = annotate_thread(thread, sla, sizes)
    # Post text is escaped inside thread_html; st.html reads neither markdown nor LaTeX.
    st.html(thread_html(turns))
    pin_controls(view, platform, conversation_id, str(conversation["brand"]), key)


def pin_controls(view: View, platform: str, conversation_id: str, brand: str, key: str) -> None:
    """A note and a button that pin the thread to the workshop list in the store."""
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    note = left.text_input(
        "Note for the workshop (optional)",
        key=f"{key}_note",
        placeholder="e.g. good example of owning the problem in public",
    )
    if right.button("Pin for the workshop", key=f"{key}_pin", icon=":material/push_pin:"):
        try:
            # Read-write only for this one statement, so imports and other readers wait
            # milliseconds at most.
            stored_id = raw_conversation_id(view, platform, conversation_id)
            with Store(view.store_path) as store:
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


view = load_view()
sla_seconds = view.settings.sla_seconds

st.title("Conversations")
st.caption(
    "Read the threads behind the numbers. Filter below (on top of the sidebar's brands, "
    "dates and platform), open a thread to see each reply annotated: where it deflects, "
    "the template it comes from and how often the brand sent it, the empathy line, the "
    "agent's sign-off, and replies slower than the SLA. Pin threads for the workshop."
)

wanted = page_filters(view)
matching = select_conversations(view.conversations, wanted, sla_seconds)

left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
left.markdown(
    f"**{len(matching):,}** of {len(view.conversations):,} conversations match these filters."
)
order = middle.selectbox(
    "Order", list(SORT_LABELS), format_func=SORT_LABELS.__getitem__, key="conv_order"
)
limit = right.selectbox("Show", LIST_SIZES, index=2, key="conv_limit")
# Only the first rows go to the browser: the list is for choosing, not for export.
listed = conversation_list(matching, sla_seconds, order or "newest", int(limit or 100))
column_config: dict[str, Any] = {
    "opened": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    "first post": st.column_config.TextColumn(width="large"),
    "why": st.column_config.TextColumn(width="large"),
    "labels": st.column_config.TextColumn(width="large"),
    "quality": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f"),
}
if listed.empty:
    st.info("No conversation matches these filters.")
else:
    show_table(listed.drop(columns=["platform"]), "conversations", column_config=column_config)

st.header("Read a thread")
if listed.empty:
    st.caption("Loosen the filters above to choose a thread.")
else:
    labels = {
        f"{row['platform']}\x1f{row['conversation_id']}": (
            f"{row['brand']} · {row['opened']:%Y-%m-%d %H:%M} · {row['conversation_id']} · "
            f"{str(row['first post'])[:60]}"
        )
        for row in listed.to_dict("records")
    }
    # A shared link can name the open thread (?thread=ID&thread_platform=P): it opens
    # first, even when the list above would not show it, as long as the view holds it.
    linked = _linked_thread(view)
    if linked and linked not in labels:
        labels = {linked: f"{linked.split(chr(31), 1)[1]} (from the link)", **labels}
    if linked and "conv_open" not in st.session_state:
        st.session_state["conv_open"] = linked
    opened = st.session_state.get("conv_open")
    if opened is not None and opened not in labels:
        # Anonymise was switched: the open thread's id changed form; keep it open.
        again = _same_thread(view, opened)
        if again:
            labels.setdefault(again, f"{again.split(chr(31), 1)[1]} (open before)")
            st.session_state["conv_open"] = again
    chosen = st.selectbox(
        "Conversation",
        list(labels),
        format_func=labels.__getitem__,
        key="conv_open",
        help="The conversations of the list above, in its order. The open thread is in "
        "the page address, so a link to it can be shared.",
    )
    if chosen:
        platform, conversation_id = chosen.split("\x1f", 1)
        if (st.query_params.get("thread"), st.query_params.get("thread_platform")) != (
            conversation_id,
            platform,
        ):
            st.query_params["thread"] = conversation_id
            st.query_params["thread_platform"] = platform
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
    show_table(summary, f"gallery-{gallery_brand}", column_config=column_config)
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
                )

st.header("Pinned for the workshop")
pins = read_pins(view)
if pins is not None:
    if pins.empty:
        st.caption("Nothing pinned yet: open a thread and pin it.")
    else:
        table = pins_table(pins, view)
        show_table(
            table,
            "workshop-pins",
            column_config={
                "pinned": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                "opened": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                "first post": st.column_config.TextColumn(width="large"),
            },
        )
        # Chosen by row: the table shows pseudonyms when anonymised, the store keeps raw ids.
        shown_keys = [
            f"{platform} · {conversation_id}"
            for platform, conversation_id in zip(
                table["platform"], table["conversation_id"], strict=True
            )
        ]
        u_left, u_right = st.columns([4, 1], vertical_alignment="bottom")
        to_unpin = u_left.selectbox(
            "Unpin",
            list(range(len(shown_keys))),
            format_func=shown_keys.__getitem__,
            key="conv_unpin_choice",
        )
        if u_right.button("Unpin", key="conv_unpin", icon=":material/delete:") and (
            to_unpin is not None
        ):
            platform = str(pins["platform"].iloc[to_unpin])
            conversation_id = str(pins["conversation_id"].iloc[to_unpin])
            try:
                with Store(view.store_path) as store:
                    store.unpin(platform, conversation_id)
            except CareBenchError as exc:
                st.error(f"Could not unpin: {md(exc)}")
            else:
                st.rerun()
