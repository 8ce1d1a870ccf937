"""Thread annotation: the segments to highlight, badges, delays, and text shown as text."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from carebench.benchmark.scoring import analyse
from carebench.dashboard.thread_view import (
    ThreadFilter,
    annotate_thread,
    conversation_list,
    deflection_spans,
    duration,
    empathy_spans,
    hedging_spans,
    label_reasons,
    name_spans,
    segments,
    select_conversations,
    signature_spans,
    template_sizes,
    thread_html,
    thread_index,
    thread_of,
)
from tests.conftest import make_posts

SLA = 3600.0


def spanned(text: str, spans) -> list[str]:
    return [text[lo:hi] for lo, hi, *_ in spans]


# -- finding the phrases ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        ("@c1 Sorry! Please DM us your order number.", "dm", "DM"),
        ("@c1 Please give us a call on 1-800-555-0142.", "phone", "1-800-555-0142"),
        ("@c1 Email us at help@acme.com and we'll look.", "email", "help@acme.com"),
        ("@c1 Please fill out the form at https://acme.com/help", "web", "https://acme.com/help"),
        ("@c1 Pop into your nearest store for a swap.", "store", "store"),
        ("@c1 Please reach out to @AcmeBank for this.", "other_account", "@AcmeBank"),
    ],
)
def test_deflection_phrases_are_located(text: str, channel: str, expected: str):
    found = deflection_spans(text, [channel])
    assert found, f"no {channel} span in {text!r}"
    assert any(expected.lower() in part.lower() for part in spanned(text, found))
    assert all(kind == "deflection" and channel in label for *_, kind, label in found)


def test_a_channel_the_post_was_not_counted_for_is_not_highlighted():
    assert deflection_spans("@c1 Please DM us", ["phone"]) == []


def test_the_addressee_handle_is_not_an_other_account_deflection():
    assert deflection_spans("@AcmeBank thanks for the help", ["other_account"]) == []


def test_spans_map_back_to_the_original_text():
    # Curly quotes, an entity and a whitespace run before the phrase: offsets still fit.
    text = "@c1 We\u2019re\n\n so sorry &amp; we\u2019d love to help. DM us!"
    found = empathy_spans(text) + deflection_spans(text, ["dm"])
    assert spanned(text, found) == ["sorry", "DM"]


def test_empathy_hedging_signature_and_name():
    text = "@c1 Hi Sam, we apologise for any inconvenience this may have caused. ^AB"
    assert spanned(text, empathy_spans(text)) == ["apologise"]
    assert spanned(text, hedging_spans(text))[0] == "any inconvenience"
    assert spanned(text, signature_spans(text)) == ["^AB"]
    assert spanned(text, name_spans(text)) == ["Sam"]
    assert spanned("Hi [name], sorry", name_spans("Hi [name], sorry")) == ["[name]"]


def test_segments_cover_the_text_exactly_and_resolve_overlaps():
    text = "Hi Sam, so sorry. DM us."
    spans = [(8, 16, "empathy", "e"), (11, 16, "hedging", "h"), (18, 20, "deflection", "d")]
    parts = segments(text, spans)
    assert "".join(p.text for p in parts) == text
    assert [(p.text, p.kind) for p in parts if p.kind] == [
        ("so sorry", "empathy"),
        ("DM", "deflection"),
    ]
    assert segments("", []) == (segments("", [])[0],) and segments("", [])[0].text == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45 s"), (600, "10 min"), (3 * 3600 + 300, "3 h 05 min"), (2 * 86400 + 7200, "2 d 2 h")],
)
def test_durations_read_like_people_say_them(seconds: float, text: str):
    assert duration(seconds) == text


# -- a whole thread ----------------------------------------------------------------------

TEMPLATE = (
    "@{c} We're sorry about the delay. Please send us a DM with your order number and "
    "the delivery address and we will look into it right away."
)


@pytest.fixture
def analysis():
    rows = [
        (1, None, "c1", "customer", 0, "@Acme my parcel is late again"),
        (2, 1, "Acme", "brand", 90, TEMPLATE.format(c="c1")),
        (3, 2, "c1", "customer", 100, "@Acme still not working, DM'd you"),
        (4, 3, "Acme", "brand", 105, "@c1 Hi Sam, we've refunded your order. ^AB"),
        (5, 4, "c1", "customer", 110, "@Acme that worked, thanks!"),
    ]
    for i in range(2, 5):
        rows.append((10 * i, None, f"c{i}", "customer", 10 * i, "@Acme where is my parcel"))
        rows.append((10 * i + 1, 10 * i, "Acme", "brand", 10 * i + 5, TEMPLATE.format(c=f"c{i}")))
    return analyse(make_posts(rows))


def test_annotated_thread_has_roles_delays_and_badges(analysis):
    thread = thread_of(analysis.turns, "twitter", "1")
    sizes = template_sizes(analysis.turns, analysis.templates)
    turns = annotate_thread(thread, SLA, sizes)
    assert [t.role for t in turns] == ["customer", "brand", "customer", "brand", "customer"]
    assert [t.author for t in turns] == ["c1", "Acme", "c1", "Acme", "c1"]
    first, fix = turns[1], turns[3]
    assert first.delay_seconds == 90 * 60 and first.slow
    assert fix.delay_seconds == 5 * 60 and not fix.slow
    labels = [b.label for b in first.badges]
    assert labels[0] == "first response"
    assert "slow: 1 h 30 min (over SLA)" in labels
    assert "deflects to dm" in labels and "empathy" in labels
    assert "template #1, sent 4 times" in labels
    highlighted = {(s.kind, s.text) for s in first.segments if s.kind}
    assert ("deflection", "DM") in highlighted and ("empathy", "sorry") in highlighted
    assert {(s.kind, s.text) for s in fix.segments if s.kind} == {
        ("name", "Sam"),
        ("signature", "^AB"),
    }
    assert [b.label for b in fix.badges] == ["on time: 5 min (within SLA)", "states a fix"]
    assert [b.label for b in turns[2].badges] == ["says it persists"]
    assert [b.label for b in turns[4].badges] == ["says it is solved"]
    for turn, original in zip(turns, thread.sort_values("created_at")["text"], strict=True):
        assert "".join(s.text for s in turn.segments) == original


HOSTILE = [
    "<script>alert('x')</script>",
    "**bold** and _it_",
    "[link](http://x) ![img](http://y.png)",
    "$math$ and $$x^2$$",
    "<img src=x onerror=alert(1)> & <b>tags</b>",
    '" onmouseover="alert(1)',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_post_text_is_shown_as_text(text: str):
    posts = make_posts(
        [
            (1, None, "<b>c1</b>", "customer", 0, text),
            (2, 1, "Acme", "brand", 5, f"@c1 So sorry! {text} Please DM us. ^AB"),
        ]
    )
    thread = analyse(posts).turns
    shown = thread_html(annotate_thread(thread, SLA))
    # The customer's post verbatim (escaped), and the same text inside the brand reply.
    assert f'pre-wrap">{html.escape(text, quote=True)}</div>' in shown
    assert f"</mark>! {html.escape(text, quote=True)} Please" in shown
    # No markup from the post survives: every < and " of the data is escaped.
    data_tags = re.findall(r"<(?!/?(?:div|b|span|mark)[ >])[^>]*>", shown)
    assert data_tags == []
    assert "<script" not in shown and "<img" not in shown and "<b>c1" not in shown
    assert "&lt;b&gt;c1&lt;/b&gt;" in shown
    if "**bold**" in text:
        assert "**bold**" in shown and "<strong>" not in shown
    if "$math$" in text:
        assert "$math$" in shown


def test_filters_on_top_of_the_global_ones(analysis):
    conversations = analysis.conversations
    assert set(select_conversations(conversations, ThreadFilter(), SLA)["conversation_id"]) == {
        "1",
        "20",
        "30",
        "40",
    }
    slow = select_conversations(conversations, ThreadFilter(slow=True), SLA)
    assert slow["conversation_id"].tolist() == ["1"]
    fast = select_conversations(conversations, ThreadFilter(slow=False), SLA)
    assert set(fast["conversation_id"]) == {"20", "30", "40"}
    resolved = select_conversations(conversations, ThreadFilter(outcomes=("resolved",)), SLA)
    assert resolved["conversation_id"].tolist() == ["1"]
    both = ThreadFilter(deflected=True, templated=True, empathy=True, brands=("Acme",))
    assert len(select_conversations(conversations, both, SLA)) == 4
    assert select_conversations(conversations, ThreadFilter(brands=("Other",)), SLA).empty


def test_the_list_is_short_and_ordered(analysis):
    listed = conversation_list(analysis.conversations, SLA, "worst", n=2)
    assert len(listed) == 2
    assert listed["quality"].is_monotonic_increasing
    newest = conversation_list(analysis.conversations, SLA, "newest", n=10)
    assert newest["conversation_id"].tolist() == ["40", "30", "20", "1"]
    assert newest.loc[newest["conversation_id"] == "1", "why"].iloc[0].startswith("resolved")
    long = analysis.conversations.assign(root_text="x" * 500)
    assert conversation_list(long, SLA, n=1)["first post"].str.len().iloc[0] == 140


def test_template_sizes_prefer_the_count_over_all_posts():
    turns = pd.DataFrame({"template_id": ["A#1", "A#1", None, "A#2"]})
    templates = pd.DataFrame({"template_id": ["A#1"], "posts": [7]})
    assert template_sizes(turns, templates) == {"A#1": 7, "A#2": 1}


def test_the_thread_index_finds_the_same_turns_as_a_scan(analysis):
    index = thread_index(analysis.turns)
    for conversation_id in ("1", "20", "40"):
        found = analysis.turns.iloc[index.positions("twitter", conversation_id)]
        pd.testing.assert_frame_equal(found, thread_of(analysis.turns, "twitter", conversation_id))
    assert len(index.positions("twitter", "404")) == 0
    assert len(index.positions("bluesky", "1")) == 0


# -- why each label ---------------------------------------------------------------------


def labelled(**columns) -> pd.DataFrame:
    base = {
        "outcome": ["resolved", "unknown", "unanswered"],
        "outcome_reason": [
            "the brand gave a concrete fix, no objection after",
            "moved to a private channel, no public signal after",
            "no reply from the brand",
        ],
        "answered": [True, True, False],
        "deflected": [False, True, False],
        "first_touch_deflection": [False, True, False],
        "deflection_channels": [None, "dm;phone", None],
    }
    return pd.DataFrame({**base, **columns})


def test_each_label_says_what_set_it():
    reasons = label_reasons(labelled()).tolist()
    assert reasons == [
        "resolved: the brand gave a concrete fix, no objection after; "
        "not deflected: no reply sends the customer elsewhere",
        "unknown: moved to a private channel, no public signal after; "
        "deflected at first reply to DM, phone",
        "unanswered: no reply from the brand",
    ]
    later = labelled(first_touch_deflection=[False, False, False])
    assert label_reasons(later).iloc[1].endswith("deflected later in the thread to DM, phone")


def test_labels_of_an_analysis_without_reasons_show_the_outcome_alone():
    frame = labelled().drop(columns=["outcome_reason"])
    assert label_reasons(frame).iloc[2] == "unanswered"


def test_the_analysis_gives_every_conversation_a_labelled_reason():
    conversations = analyse(
        make_posts(
            [
                (1, None, "cust", "customer", 0, "@Air my bag is lost"),
                (2, 1, "Air", "brand", 10, "@cust Sorry! Please DM us your booking ref."),
            ]
        )
    ).conversations
    (reason,) = label_reasons(conversations).tolist()
    outcome = conversations["outcome"].iloc[0]
    assert reason.startswith(f"{outcome}: {conversations['outcome_reason'].iloc[0]}")
    assert "deflected at first reply to DM" in reason


def test_the_list_equals_sorting_every_column(tmp_path):
    """The list sorts only its keys and copies the first rows: the same rows, in the same
    order, as sorting every column (ties, missing times and qualities included)."""
    from carebench.benchmark.pipeline import analyse_store
    from carebench.benchmark.quality import quality_score
    from tests.conftest import generated_store

    conversations = analyse_store(generated_store(tmp_path, 6_000, seed=5)).conversations
    # Ties on the first key: the second key and then the rows' order decide.
    conversations = conversations.assign(opened_at=conversations["opened_at"].dt.floor("D"))
    keys = {
        "newest": (["opened_at", "conversation_id"], [False, True]),
        "worst": (["quality", "opened_at"], [True, False]),
        "best": (["quality", "opened_at"], [False, False]),
        "slowest": (["ttfr_seconds", "opened_at"], [False, False]),
    }
    for order, (columns, ascending) in keys.items():
        whole = conversations.assign(quality=quality_score(conversations, SLA)).sort_values(
            columns, ascending=ascending, na_position="last", kind="stable"
        )
        for n in (1, 7, 100, len(conversations)):
            listed = conversation_list(conversations, SLA, order, n=n)
            expected = whole["conversation_id"].head(n).tolist()
            assert listed["conversation_id"].tolist() == expected, (order, n)
