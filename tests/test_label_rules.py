"""The outcome and deflection rules on the failure classes that made labels untrustworthy.

Real threads are pinned by id (all from the tuning half of evaluation/labels.jsonl, which
the rules were tuned on; the test half is only ever measured), each with the label two
readers gave it. Hand-written texts cover the same classes where a real thread would need
the shared data, and a property shows that a supplementary link never turns a public
answer into a deflection.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carebench.benchmark.pipeline import analyse_store
from carebench.benchmark.text_signals import (
    brand_answer_kind,
    brand_reply_act,
    customer_signal,
    deflection_channels,
)
from carebench.ingest import ImportOptions, import_files
from carebench.store import Store
from tests.conftest import SHARED_DATA


@pytest.fixture(scope="module")
def real_conversations() -> pd.DataFrame:
    """CareBench's conversations of the TWCS head sample and the IBM dev dialogs."""
    sources = [("twcs/twcs_head_5k.csv", "twcs"), ("ibm_care/dev.json", "ibm-care")]
    if not all((SHARED_DATA / path).exists() for path, _ in sources):
        pytest.skip("real data is absent (needs ../shared/data beside the repo)")
    found = []
    for path, fmt in sources:
        with Store(":memory:") as store:
            import_files(store, fmt, [SHARED_DATA / path], ImportOptions())
            found.append(analyse_store(store).conversations)
    return pd.concat(found).set_index("conversation_id")


# (conversation, field, the readers' label, the failure class it pins)
PINNED = [
    # A concrete public answer with no objection after it is resolved (METRICS.md).
    ("twcs:5812", "outcome", "resolved", "public step, silence after"),
    ("twcs:5645", "outcome", "resolved", "public answer to a question, silence after"),
    # The customer says so in other words: "Worked", "you guys were great".
    ("twcs:1505", "outcome", "resolved", "praise after the help"),
    ("twcs:4879", "outcome", "resolved", "'restarting does resolve the issue'"),
    # The customer keeps objecting after non-answers.
    ("twcs:3293", "outcome", "unresolved", "objection answered with sympathy only"),
    ("twcs:4071", "outcome", "unresolved", "the customer leaves after the answer"),
    # Thanks after sympathy or a deflection is politeness, not a resolution.
    ("twcs:3242", "outcome", "unknown", "thanks after sympathy only"),
    ("twcs:205", "outcome", "unknown", "thanks after a hand-off to another account"),
    # A reply that only asks for the iOS version is no fix ("you may having" typo).
    ("twcs:2650", "outcome", "unknown", "a question read as a fix"),
    # Redirects worded without stock phrases.
    ("twcs:1838", "deflection_channels", "store", "reach out to the flight attendants"),
    ("twcs:3429", "deflection_channels", "web", "steps in the next link"),
    ("twcs:205", "deflection_channels", "dm;other_account", "DM our friends at @XboxSupport"),
    # A public answer with a link for more is not a deflection.
    ("1239638695314993152", "deflection_channels", "", "answer plus 'visit <link>'"),
    # "website" inside a question is no deflection.
    ("twcs:4875", "deflection_channels", "", "'specific apps or website?'"),
]


@pytest.mark.realdata
@pytest.mark.parametrize(("conversation", "field", "expected", "why"), PINNED)
def test_pinned_real_threads_get_the_readers_label(
    real_conversations: pd.DataFrame, conversation: str, field: str, expected: str, why: str
):
    got = real_conversations.loc[conversation, field]
    assert got == expected, f"{conversation} ({why}): {field} is {got!r}"


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("@c1 Got it. We recommend updating your Watch OS, then testing again.", "answer"),
        ("@c1 We're here to help. Let us know the exact iOS version to get started.", "asks"),
        (
            "@c1 Thanks for reaching out – we'll pass your feedback on to our Ads team /NQ",
            "feedback",
        ),
        ("@c1 Oh no! One moment as I take a look. *HRO", "promise"),
        ("@c1 Glad to hear! Have a great day! ^JG", ""),
        # A link wrapped in thanks and apologies says nothing in public itself.
        (
            "@c1 Thank you for your patience. My apologies for the long delay in replying. "
            "Here is a link that should be of assistance: https://t.co/abc",
            "",
        ),
    ],
)
def test_what_a_brand_reply_does(text: str, act: str):
    assert brand_reply_act(pd.Series([text])).iloc[0] == act


def test_a_question_with_a_typo_is_no_fix():
    text = "@c1 We're here to help with any issues you may having. Which iOS version is it?"
    assert brand_answer_kind(pd.Series([text])).iloc[0] == ""


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("@Brand Worked 👌🏽", "solved"),
        ("@Brand item recovered, thank you so much!", "solved"),
        ("@Brand Just got off the phone with them, you guys were great!", "solved"),
        ("@Brand This is nuts, sitting at the gate for 4 hours", "persists"),
        ("@Brand I can't say for sure, it started with iOS 11", "problem"),
    ],
)
def test_what_a_customer_turn_says(text: str, signal: str):
    assert customer_signal(pd.Series([text])).iloc[0] == signal


@pytest.mark.parametrize(
    ("text", "channels"),
    [
        ("@c1 That must be done in person: please return to the airport baggage office.", "store"),
        ("@c1 This might help! https://t.co/8gZuvsbjgn ^DO", "web"),
        ("@c1 Does this only occur when using specific apps or website?", ""),
        ("@c1 Drafts live in a separate folder. If you're still stuck, DM us.", ""),
    ],
)
def test_redirects_are_read_by_what_they_do(text: str, channels: str):
    assert deflection_channels(pd.Series([text])).iloc[0] == channels


# Public answers: a fix or an explanation given in the reply itself.
ANSWERS = [
    "@c1 Those albums are currently unavailable in your country because of licensing, "
    "and we can't say when they will be back on the service.",
    "@c1 Try restarting the app, then go to Settings > Storage and clear the cache.",
    "@c1 Your refund has been processed and should reach your card within 5 business days.",
    "@c1 The iPhone SE deal is available only through our online shop until the end of "
    "the month, and it is not offered on contract renewals.",
]
LINK_LEADS = [
    "More information here:",
    "More on this here:",
    "You can read more at",
    "Details:",
    "This article has more:",
    "For more info visit",
]


@settings(max_examples=60, deadline=None)
@given(
    answer=st.sampled_from(ANSWERS),
    lead=st.sampled_from(LINK_LEADS),
    code=st.text(alphabet="abcdefghijkLMNOP0123456789", min_size=6, max_size=10),
)
def test_a_supplementary_link_never_turns_a_public_answer_into_a_deflection(
    answer: str, lead: str, code: str
):
    plain = pd.Series([answer])
    linked = pd.Series([f"{answer} {lead} https://t.co/{code}"])
    assert deflection_channels(plain).iloc[0] == ""
    assert deflection_channels(linked).iloc[0] == ""
    assert brand_reply_act(linked).iloc[0] == brand_reply_act(plain).iloc[0] == "answer"
