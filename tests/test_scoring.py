"""Per-conversation signals and outcomes on hand-built threads with known answers."""

from __future__ import annotations

import pandas as pd
import pytest

from carebench.benchmark.scoring import analyse, repeat_contact
from tests.conftest import make_posts


def scored(rows: list[tuple]) -> pd.Series:
    """The single conversation rooted at post '1'."""
    conversations = analyse(make_posts(rows)).conversations.set_index("conversation_id")
    return conversations.loc["1"]


def test_unanswered_conversation():
    row = scored([("1", None, "c", "customer", 0, "@Acme my order never arrived")])
    assert row["outcome"] == "unanswered"
    assert not row["deflected"]
    assert pd.isna(row["empathy_first_reply"])
    assert row["templated_posts"] == 0


def test_deflection_then_silence_is_unknown():
    row = scored(
        [
            ("1", None, "c", "customer", 0, "my order never arrived, where is it?"),
            ("2", "1", "Acme", "brand", 5, "Sorry to hear that! Please DM us your order number."),
        ]
    )
    assert row["deflected"] and row["first_touch_deflection"]
    assert row["deflection_channels"] == "dm"
    assert row["empathy_first_reply"]
    assert row["outcome"] == "unknown"
    assert row["care_request"]
    assert not row["follow_up"]


def test_two_platforms_reusing_a_post_id_are_scored_apart():
    # Mastodon and Bluesky ids never clash with tweet ids in practice, but a CSV import
    # may number posts 1, 2, 3 on every platform: the scores must not mix.
    deflected = make_posts(
        [
            ("1", None, "c", "customer", 0, "my order never arrived, where is it?"),
            ("2", "1", "Acme", "brand", 5, "Sorry! Please DM us your order number."),
        ],
        platform="mastodon",
    )
    fixed = make_posts(
        [
            ("1", None, "d", "customer", 0, "my order never arrived, where is it?"),
            ("2", "1", "Acme", "brand", 90, "It arrives tomorrow, we rebooked the courier."),
            ("3", "2", "d", "customer", 95, "Great, thanks, that worked!"),
        ],
        platform="bluesky",
    )
    conversations = analyse(pd.concat([deflected, fixed], ignore_index=True)).conversations
    by_platform = conversations.set_index("platform")
    assert len(conversations) == 2
    assert by_platform.loc["mastodon", "deflected"]
    assert by_platform.loc["mastodon", "outcome"] == "unknown"
    assert by_platform.loc["mastodon", "ttfr_seconds"] == 300
    assert not by_platform.loc["bluesky", "deflected"]
    assert by_platform.loc["bluesky", "outcome"] == "resolved"
    assert by_platform.loc["bluesky", "ttfr_seconds"] == 5400


def test_customer_confirms_fix_is_resolved_with_time():
    row = scored(
        [
            ("1", None, "c", "customer", 0, "my app keeps crashing, help?"),
            ("2", "1", "Acme", "brand", 10, "Try restarting your phone and updating the app."),
            ("3", "2", "c", "customer", 30, "that worked, thanks!"),
        ]
    )
    assert row["outcome"] == "resolved"
    assert row["time_to_resolution_seconds"] == 30 * 60
    assert not row["deflected"]


def test_customer_says_still_broken_after_last_reply_is_unresolved():
    row = scored(
        [
            ("1", None, "c", "customer", 0, "my app keeps crashing, help?"),
            ("2", "1", "Acme", "brand", 10, "Try restarting your phone and updating the app."),
            ("3", "2", "c", "customer", 30, "still not working"),
        ]
    )
    assert row["outcome"] == "unresolved"


def test_thanks_after_a_dm_request_is_not_a_resolution():
    row = scored(
        [
            ("1", None, "c", "customer", 0, "my bill is wrong"),
            ("2", "1", "Acme", "brand", 10, "Please send us a DM with your account details."),
            ("3", "2", "c", "customer", 12, "thanks"),
        ]
    )
    assert row["outcome"] == "unknown"


def test_brand_fix_without_objection_is_resolved_at_the_fix():
    row = scored(
        [
            ("1", None, "c", "customer", 0, "is the site down? can't log in"),
            (
                "2",
                "1",
                "Acme",
                "brand",
                20,
                "This has been fixed now, you should be able to log in.",
            ),
        ]
    )
    assert row["outcome"] == "resolved"
    assert row["time_to_resolution_seconds"] == 20 * 60


def test_follow_up_after_deflection():
    row = scored(
        [
            ("1", None, "c", "customer", 0, "my parcel is lost"),
            ("2", "1", "Acme", "brand", 5, "Please DM us your tracking number."),
            ("3", "2", "c", "customer", 9, "done"),
            ("4", "3", "Acme", "brand", 60, "Thanks, we've found it and it arrives tomorrow."),
        ]
    )
    assert row["deflected"]
    assert row["follow_up"]
    assert not row["first_touch_deflection"] or row["deflection_channels"] == "dm"


def test_signed_replies_and_agent_continuity():
    row = scored(
        [
            ("1", None, "c", "customer", 0, "help with my bill"),
            ("2", "1", "Acme", "brand", 5, "Happy to help, what's the issue? ^AB"),
            ("3", "2", "c", "customer", 9, "charged twice"),
            ("4", "3", "Acme", "brand", 20, "Sorry about that, refund is on its way ^AB"),
        ]
    )
    assert row["signed_posts"] == 2
    assert row["agent_continuity"]
    two_agents = scored(
        [
            ("1", None, "c", "customer", 0, "help with my bill"),
            ("2", "1", "Acme", "brand", 5, "Happy to help, what's the issue? ^AB"),
            ("3", "2", "c", "customer", 9, "charged twice"),
            ("4", "3", "Acme", "brand", 20, "Sorry about that, refund is on its way ^JS"),
        ]
    )
    assert not two_agents["agent_continuity"]


def test_each_conversation_is_scored_on_its_own_turns():
    # Scores are reductions over each conversation's run of turns: neighbours in the
    # turn order must never leak into each other.
    rows = [
        ("1", None, "a", "customer", 0, "help with my bill"),
        ("2", "1", "Acme", "brand", 5, "Happy to help, what's the issue? ^AB"),
        ("3", "2", "a", "customer", 9, "charged twice"),
        ("4", "3", "Acme", "brand", 20, "Sorry about that, we've refunded the second charge ^AB"),
        ("10", None, "b", "customer", 30, "my parcel is lost"),
        ("11", "10", "Acme", "brand", 35, "Please DM us your tracking number."),
        ("20", None, "c", "customer", 40, "is the app down? can't log in"),
        ("21", "20", "Acme", "brand", 41, "This has been fixed now, please try again ^AB"),
        ("22", "21", "c", "customer", 45, "still not working"),
        ("23", "22", "Acme", "brand", 50, "We're looking into it ^JS"),
        ("24", "23", "c", "customer", 55, "still broken"),
        ("30", None, "d", "customer", 60, "where is my refund?"),
    ]
    conversations = analyse(make_posts(rows)).conversations.set_index("conversation_id")
    got = conversations.loc[["1", "10", "20", "30"]]
    assert got["signed_posts"].tolist() == [2, 0, 2, 0]
    assert got["agents"].tolist() == [1, 0, 2, 0]
    assert got["agent_continuity"].tolist() == [True, pd.NA, False, pd.NA]
    assert got["deflected"].tolist() == [False, True, False, False]
    assert got["follow_up"].tolist() == [pd.NA, False, pd.NA, pd.NA]
    # "20": the fix came before the customer said it still fails, who says it again last.
    assert got["outcome"].tolist() == ["resolved", "unknown", "unresolved", "unanswered"]
    assert got["time_to_resolution_seconds"].iloc[0] == 20 * 60


def test_templated_replies_are_counted_per_conversation():
    rows = []
    for i in range(4):
        root, reply = str(10 * i + 1), str(10 * i + 2)
        rows.append((root, None, f"c{i}", "customer", i, "where is my refund?"))
        rows.append(
            (
                reply,
                root,
                "Acme",
                "brand",
                i + 5,
                f"@c{i} We're sorry for the wait. Please send us a DM with your order number "
                f"{1000 + i} and we'll look into it for you.",
            )
        )
    conversations = analyse(make_posts(rows)).conversations
    assert (conversations["templated_posts"] == 1).all()


def test_repeat_contact_within_window_only():
    conversations = pd.DataFrame(
        {
            "brand": ["Acme", "Acme", "Acme", "Other", "Acme"],
            "customer_id": ["a", "a", "a", "a", None],
            "opened_at": pd.to_datetime(
                ["2017-10-01", "2017-10-05", "2017-10-20", "2017-10-02", "2017-10-01"], utc=True
            ),
        }
    )
    flags = repeat_contact(conversations, window_days=7)
    assert flags.tolist()[:4] == [True, False, False, False]
    assert pd.isna(flags.iloc[4])


@pytest.mark.parametrize("order", ["forward", "reversed"])
def test_row_order_does_not_change_scores(order: str):
    rows = [
        ("1", None, "c", "customer", 0, "my app keeps crashing, help?"),
        ("2", "1", "Acme", "brand", 10, "Sorry! Try restarting your phone."),
        ("3", "2", "c", "customer", 30, "that worked, thanks!"),
        ("4", None, "d", "customer", 1, "@Acme love you guys"),
    ]
    if order == "reversed":
        rows = rows[::-1]
    conversations = analyse(make_posts(rows)).conversations.set_index("conversation_id")
    assert conversations.loc["1", "outcome"] == "resolved"
    assert conversations.loc["4", "outcome"] == "unanswered"


def test_analyse_leaves_the_posts_alone_unless_asked_to_consume_them():
    rows = [
        ("1", None, "c", "customer", 0, "@Acme my order never arrived, where is it?"),
        ("2", "1", "Acme", "brand", 5, "Sorry to hear that! Please DM us your order number."),
        ("3", "2", "c", "customer", 9, "sent, thanks"),
    ]
    posts = make_posts(rows)
    kept = posts.copy()
    left_alone = analyse(posts)
    pd.testing.assert_frame_equal(posts, kept)

    consumed = analyse(posts, consume=True)
    assert posts.columns.empty  # the memory saving the pipeline asks for
    pd.testing.assert_frame_equal(consumed.conversations, left_alone.conversations)
    pd.testing.assert_frame_equal(consumed.turns, left_alone.turns)
