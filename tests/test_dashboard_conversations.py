"""The Conversations page, run with Streamlit's AppTest on a small generated store.

The store holds 3,000 generated posts plus one hand-written thread whose posts try to
inject HTML, markdown and LaTeX and carry a customer's e-mail address and phone number.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from carebench.benchmark.anonymise import pseudonymise_ids
from carebench.benchmark.quality import quality_score
from carebench.dashboard import data as dashboard_data
from carebench.dashboard.escaping import md
from carebench.dashboard.thread_view import ThreadFilter, duration, select_conversations
from carebench.ingest import import_twcs_files
from carebench.store import Store
from carebench.synthetic import generate

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGE = "carebench/dashboard/pages/conversations.py"
TIMEOUT = 90
BRAND = "SkyLarkAir"
HOSTILE_ID = "twcs:900001"  # TWCS ids are kept in their namespace
HOSTILE_CUSTOMER = "hostile_customer"
HOSTILE_POSTS = [
    "<script>alert('x')</script> **bold** [link](http://x) $math$ my card is blocked, "
    "mail me at jo.doe@example.com or call +44 20 7946 0958",
    "Hi Jo, so sorry about this. Please DM us the details. ^AB",
    "still not working <b>at all</b>",
]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("conversations")
    generated = folder / "small.csv"
    generate(generated, posts=3000, seed=11)
    hostile = folder / "hostile.csv"
    header = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"
    rows = [
        f'900001,{HOSTILE_CUSTOMER},True,Sun Dec 31 10:00:00 +0000 2017,"@{BRAND} '
        f'{HOSTILE_POSTS[0]}",900002,',
        f'900002,{BRAND},False,Sun Dec 31 12:30:00 +0000 2017,"@{HOSTILE_CUSTOMER} '
        f'{HOSTILE_POSTS[1]}",900003,900001',
        f'900003,{HOSTILE_CUSTOMER},True,Sun Dec 31 12:40:00 +0000 2017,"@{BRAND} '
        f'{HOSTILE_POSTS[2]}",,900002',
    ]
    hostile.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    path = folder / "small.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [generated, hostile])
    return path


@pytest.fixture
def store(small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store.duckdb"
    shutil.copy(small_store, path)
    monkeypatch.setenv("CAREBENCH_DB", str(path))
    return path


def open_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"focus": BRAND, **(query or {})})
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def view_conversations(path: Path, at: AppTest) -> pd.DataFrame:
    loaded = dashboard_data.read_store(path)
    filters = at.session_state["carebench_filters"]
    return dashboard_data.filter_conversations(loaded.analysis.conversations, filters)


def table(at: AppTest, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with column {column!r}"
    return found[0]


def click_row(at: AppTest, key_prefix: str, row: int) -> AppTest:
    """Click a row of a single-row-selection table, as a user's click sets its state."""
    frames = [d for d in at.dataframe if d.key and d.key.startswith(key_prefix)]
    assert frames, f"no clickable table {key_prefix!r}"
    selection = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.session_state[frames[0].key] = selection
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def open_thread(at: AppTest, conversation_id: str) -> str:
    """Open a thread by clicking its row in the list (no dropdown)."""
    ids = table(at, "first post")["conversation_id"].astype(str).tolist()
    click_row(at, "conv_list_", ids.index(conversation_id))
    return at.html[0].value


def test_the_list_counts_and_shows_the_filtered_conversations(store: Path):
    at = open_page()
    conversations = view_conversations(store, at)
    assert at.title[0].value == "Conversations"
    count = f"**{len(conversations):,}** of {len(conversations):,} conversations"
    assert any(count in m.value for m in at.markdown)
    listed = table(at, "first post")
    assert len(listed) == min(100, len(conversations))
    # Newest first: the hand-written thread of 31 December heads the list.
    assert listed["conversation_id"].iloc[0] == HOSTILE_ID

    at.selectbox(key="conv_deflected").set_value("Yes").run()
    at.selectbox(key="conv_slow").set_value("Over SLA (slow)").run()
    expected = select_conversations(conversations, ThreadFilter(deflected=True, slow=True), 3600.0)
    assert any(f"**{len(expected):,}** of" in m.value for m in at.markdown)
    newest = expected.sort_values(["opened_at", "conversation_id"], ascending=[False, True])
    listed = table(at, "first post")
    assert listed["conversation_id"].tolist() == newest["conversation_id"].head(100).tolist()


def test_opening_a_thread_shows_its_annotations(store: Path):
    at = open_page()
    conversations = view_conversations(store, at)
    # A templated, deflected conversation answered after the SLA.
    candidates = conversations[
        conversations["deflected"]
        & (conversations["templated_posts"] > 0)
        & (conversations["ttfr_seconds"] > 3600)
    ]
    assert not candidates.empty, "the fixture should hold a slow, templated deflection"
    # The slowest, so that it is in the list ordered slowest first.
    chosen = candidates.sort_values("ttfr_seconds", ascending=False).iloc[0]
    at.selectbox(key="conv_order").set_value("slowest").run()
    at.selectbox(key="conv_limit").set_value(500).run()
    shown = open_thread(at, str(chosen["conversation_id"]))
    assert 'class="cb-deflection"' in shown
    assert f"slow: {duration(float(chosen['ttfr_seconds']))} (over SLA)" in shown
    assert "first response" in shown
    if chosen["templated_posts"] > 0:
        assert re.search(r"template #\d+, sent [\d,]+ times", shown)
    assert f"<b>customer</b> · {chosen['customer_id']}" in shown
    summary = " ".join(m.value for m in at.markdown)
    assert f"outcome **{chosen['outcome']}**" in summary


def test_an_open_thread_shows_each_label_with_its_reason(store: Path):
    at = open_page()
    open_thread(at, HOSTILE_ID)
    row = view_conversations(store, at).set_index("conversation_id").loc[HOSTILE_ID]
    assert row["deflected"] and row["outcome_reason"]
    captions = [c.value for c in at.caption]
    expected = f"{row['outcome']}: {row['outcome_reason']}; deflected at first reply to DM"
    assert "Labels: " + md(expected) in captions


def test_post_text_is_never_markup(store: Path):
    at = open_page()
    shown = open_thread(at, HOSTILE_ID)
    assert "<script" not in shown and "<b>at all" not in shown
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in shown
    assert "**bold** [link](http://x) $math$" in shown
    assert "&lt;b&gt;at all&lt;/b&gt;" in shown
    # The slow first reply (2 h 30 min) and its highlights.
    assert "slow: 2 h 30 min (over SLA)" in shown
    assert '<mark class="cb-empathy"' in shown and '<mark class="cb-deflection"' in shown
    # Nothing of the posts went through markdown.
    assert not any("script" in m.value or "**bold**" in m.value for m in at.markdown)


def test_anonymise_hides_customers_in_the_list_and_the_thread(store: Path):
    at = open_page()
    plain = open_thread(at, HOSTILE_ID)
    assert HOSTILE_CUSTOMER in plain and "jo.doe@example.com" in plain
    customers = set(table(at, "first post")["customer"])

    at.toggle(key="flt_anon").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    # The open thread stays open, under its pseudonym (in the address too).
    masked = at.html[0].value
    assert at.query_params["thread"] == pseudonymise_ids(pd.Series([HOSTILE_ID]))[0]
    for secret in (HOSTILE_CUSTOMER, "jo.doe@example.com", "7946 0958", "Hi Jo"):
        assert secret not in masked
    assert re.search(r"<b>customer</b> · customer-[0-9a-f]{6}", masked)
    assert "[email]" in masked and "[phone]" in masked and ">[name]</mark>," in masked
    # The brand and its agent stay.
    assert BRAND in masked and "^AB" in masked
    listed = table(at, "first post")
    assert not set(listed["customer"]) & customers
    assert listed["customer"].str.fullmatch(r"customer-[0-9a-f]{6}").all()
    assert not listed["first post"].str.contains(HOSTILE_CUSTOMER).any()


def test_pinning_a_thread_puts_it_in_the_workshop_list(store: Path):
    at = open_page()
    open_thread(at, HOSTILE_ID)
    assert any("Nothing pinned yet" in c.value for c in at.caption)
    at.text_input(key="conv_thread_note").input("injection attempt, show escaping")
    at.button(key="conv_thread_pin").click().run()
    assert not at.exception, [e.message for e in at.exception]
    pins = table(at, "note")
    assert pins["conversation_id"].tolist() == [HOSTILE_ID]
    assert pins["note"].tolist() == ["injection attempt, show escaping"]
    assert pins["brand"].tolist() == [BRAND]
    assert pins["outcome"].tolist() == ["unresolved"]
    with Store(store, read_only=True) as reopened:
        stored = reopened.pins()
    assert stored[["platform", "conversation_id", "brand"]].values.tolist() == [
        ["twitter", HOSTILE_ID, BRAND]
    ]
    # Pinning again keeps one pin.
    at.button(key="conv_thread_pin").click().run()
    assert len(table(at, "note")) == 1
    # And it can be unpinned.
    at.button(key="conv_unpin").click().run()
    assert any("Nothing pinned yet" in c.value for c in at.caption)


def test_the_gallery_ranks_by_quality(store: Path):
    at = open_page()
    at.selectbox(key="conv_gallery_n").set_value(3).run()
    conversations = view_conversations(store, at)
    own = conversations[conversations["brand"] == BRAND]
    scores = quality_score(own, 3600.0).dropna()
    shown = table(at, "side")
    best = shown[shown["side"] == "best"]
    worst = shown[shown["side"] == "worst"]
    assert len(best) == 3 and len(worst) == 3
    assert best["quality"].max() == pytest.approx(scores.max())
    assert worst["quality"].min() == pytest.approx(scores.min())
    assert best["quality"].min() >= worst["quality"].max()
    assert (shown["why"].str.len() > 0).all()
    # Each label with its reason: the outcome with the rule that set it, deflection with
    # its channels.
    rows = own.set_index("conversation_id").loc[shown["conversation_id"]]
    for labels, outcome, reason, deflected in zip(
        shown["labels"], rows["outcome"], rows["outcome_reason"], rows["deflected"], strict=True
    ):
        assert labels.startswith(f"{outcome}: {reason}") and reason
        assert ("deflected " in labels) == bool(deflected)
    # Each gallery thread can be read in place.
    assert len(at.html) >= 1 + 6


def test_a_link_opens_its_thread_and_the_open_thread_goes_in_the_link(store: Path):
    at = open_page()
    conversations = view_conversations(store, at)
    oldest = conversations.sort_values("opened_at").iloc[0]
    listed = set(table(at, "first post")["conversation_id"].astype(str))
    assert str(oldest["conversation_id"]) not in listed, "the fixture's list should not show it"
    linked = open_page({"thread": str(oldest["conversation_id"]), "thread_platform": "twitter"})
    assert f'data-post="{oldest["conversation_id"]}"' in linked.html[0].value
    open_thread(linked, HOSTILE_ID)
    assert linked.query_params["thread"] == HOSTILE_ID
    assert linked.query_params["thread_platform"] == "twitter"


def test_a_link_to_a_thread_the_filters_hide_says_so(store: Path):
    at = open_page({"thread": "no-such-thread"})
    assert any("no\\-such\\-thread" in c.value for c in at.caption), [c.value for c in at.caption]


def test_clicking_a_row_opens_its_thread_without_a_dropdown(store: Path):
    at = open_page()
    # No dropdown of shortened labels: the list itself is what a trainer clicks.
    assert not [s for s in at.selectbox if s.key == "conv_open"]
    listed = table(at, "first post")
    row = 3
    chosen = str(listed["conversation_id"].iloc[row])
    click_row(at, "conv_list_", row)
    assert f'data-post="{chosen}"' in at.html[0].value
    assert at.query_params["thread"] == chosen
    # A filter change keeps the open thread; a click on another row replaces it.
    at.selectbox(key="conv_order").set_value("worst").run()
    assert f'data-post="{chosen}"' in at.html[0].value
    other = str(table(at, "first post")["conversation_id"].iloc[0])
    click_row(at, "conv_list_", 0)
    assert f'data-post="{other}"' in at.html[0].value


def test_the_thread_opened_by_default_is_the_focus_brands(store: Path):
    # The newest conversation is the competitor's (the hand-written thread of 31 Dec).
    other = next(b for b in view_conversations(store, open_page())["brand"] if b != BRAND)
    at = open_page({"focus": other, "vs": BRAND})
    focus = at.session_state["carebench_filters"].focus
    assert focus == other
    listed = table(at, "first post")
    assert listed["brand"].iloc[0] == BRAND
    # The list's newest conversation may be another brand's; the open one is the focus's.
    first_own = listed[listed["brand"] == focus].iloc[0]
    assert f'data-post="{first_own["conversation_id"]}"' in at.html[0].value
    assert at.query_params["thread"] == str(first_own["conversation_id"])


def test_search_finds_conversations_by_customer_and_brand_words(store: Path):
    at = open_page()
    # The hostile thread: a customer's words, then the brand's ("DM us the details").
    for words in ("card is BLOCKED", "dm us the details", "still not working"):
        at.text_input(key="conv_search").input(words).run()
        assert not at.exception, [e.message for e in at.exception]
        found = table(at, "first post")["conversation_id"].tolist()
        assert HOSTILE_ID in found, words
    at.text_input(key="conv_search").input("card is blocked").run()
    conversations = view_conversations(store, at)
    turns = dashboard_data.read_store(store).analysis.turns
    hit = turns[turns["text"].str.contains("card is blocked", case=False, regex=False)]
    expected = conversations[conversations["conversation_id"].isin(hit["conversation_id"])]
    assert sorted(table(at, "first post")["conversation_id"]) == sorted(expected["conversation_id"])
    assert any(f"**{len(expected):,}** of" in m.value for m in at.markdown)
    at.text_input(key="conv_search").input("zzqx no such words").run()
    assert any("No conversation matches" in i.value for i in at.info)


def download(made: dict[str, Any], name: str) -> pd.DataFrame:
    data = made[name]
    text = data() if callable(data) else data
    return pd.read_csv(io.StringIO(str(text)), dtype=str, keep_default_na=False)


def test_a_pin_opens_its_thread_and_pins_export_as_full_threads(
    store: Path, downloads: dict[str, Any]
):
    at = open_page()
    open_thread(at, HOSTILE_ID)
    at.text_input(key="conv_thread_note").input("=HYPERLINK(1) show escaping")
    at.button(key="conv_thread_pin").click().run()
    # The button's label is whole (it used to be cut off in a narrow column).
    assert at.button(key="conv_thread_pin").label == "Pin this thread"
    # Another thread open above; the pin opens its own thread below the pin list.
    click_row(at, "conv_list_", 5)
    assert f'data-post="{HOSTILE_ID}"' not in at.html[0].value
    click_row(at, "conv_pins_list", 0)
    assert any(f'data-post="{HOSTILE_ID}"' in h.value for h in at.html[1:])
    # The full-thread CSV: every turn of the pinned thread, with role, time, annotations.
    rows = download(downloads, "workshop-threads.csv")
    assert rows["conversation_id"].tolist() == [HOSTILE_ID] * 3
    assert rows["role"].tolist() == ["customer", "brand", "customer"]
    assert rows["author"].iloc[0] == HOSTILE_CUSTOMER
    assert "deflects to dm" in rows["annotations"].iloc[1]
    assert "slow: 2 h 30 min (over SLA)" in rows["annotations"].iloc[1]
    assert rows["posted_at"].iloc[0].startswith("2017-12-31T10:00:00")
    # Spreadsheet formulas are neutralised, as in every CSV of the dashboard.
    assert rows["note"].iloc[0] == "'=HYPERLINK(1) show escaping"


def test_threads_open_before_every_turn_is_read_and_read_the_same(
    store: Path, monkeypatch: pytest.MonkeyPatch
):
    """On a big store the turns take seconds to read after a server start: meanwhile the
    page reads the threads it shows from the store (by conversation), the same threads."""
    import threading

    release = threading.Event()
    read_every_turn = dashboard_data._read_turns_and_close

    def held_back(opened: Store) -> pd.DataFrame:
        release.wait(60)
        return read_every_turn(opened)

    monkeypatch.setattr(dashboard_data, "_read_turns_and_close", held_back)
    try:
        at = open_page()
        loaded = dashboard_data._last_good[str(store.resolve())][1]
        assert loaded.indexed and not loaded.analysis.lookup_ready
        early = [h.value for h in at.html]
        read_early = {
            key[1:]
            for key in dashboard_data._early_threads._items
            if key[0][0] == str(store.resolve())
        }
        assert len(early) >= 3 and len(read_early) >= 3
    finally:
        release.set()
    loaded.analysis.lookup  # noqa: B018 (waits for the worker)
    at.run()
    assert [h.value for h in at.html] == early
