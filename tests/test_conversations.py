"""Conversations: roots, brand assignment, TTFR and reply times on hand-built threads."""

from __future__ import annotations

import numpy as np
import pandas as pd

from carebench.benchmark.conversations import build_threads
from tests.conftest import make_posts


def conv(posts: pd.DataFrame) -> pd.DataFrame:
    return build_threads(posts).conversations.set_index("conversation_id")


def test_unanswered_root_has_no_ttfr_and_takes_mentioned_brand():
    posts = make_posts(
        [
            ("1", None, "cust", "customer", 0, "@DeltaAssist my bag is lost"),
            # another thread proves DeltaAssist is a brand account
            ("2", None, "other", "customer", 0, "@DeltaAssist hi"),
            ("3", "2", "DeltaAssist", "brand", 5, "@other hello"),
        ]
    )
    row = conv(posts).loc["1"]
    assert not row["answered"]
    assert np.isnan(row["ttfr_seconds"])
    assert row["brand"] == "DeltaAssist"


def test_a_handle_written_two_ways_takes_the_brand_of_its_earliest_post_in_any_row_order():
    # "Delta" and "delta" are one account to a mention; with no declared brand each post
    # speaks for its own spelling, and the earliest post decides, whatever the row order.
    rows = [
        ("1", None, "cust", "customer", 0, "@DELTA my bag is lost"),
        ("2", None, "a", "customer", 0, "@delta hi"),
        ("3", "2", "delta", "brand", 5, "@a hello"),
        ("4", None, "b", "customer", 0, "@Delta hi"),
        ("5", "4", "Delta", "brand", 9, "@b hello"),
    ]
    for order in (rows, rows[::-1]):
        assert conv(make_posts(order)).loc["1", "brand"] == "delta"


def test_root_mentioning_no_known_brand_is_unassigned():
    posts = make_posts([("1", None, "cust", "customer", 0, "@nobody hello")])
    assert pd.isna(conv(posts).loc["1", "brand"])


def test_plain_thread_ttfr_is_root_to_first_reply():
    posts = make_posts(
        [
            ("1", None, "c", "customer", 0, "my wifi is down"),
            ("2", "1", "Acme", "brand", 30, "sorry, DM us"),
            ("3", "2", "c", "customer", 40, "done"),
            ("4", "3", "Acme", "brand", 100, "thanks"),
        ]
    )
    row = conv(posts).loc["1"]
    assert row["brand"] == "Acme"
    assert row["ttfr_seconds"] == 30 * 60
    assert row["brand_posts"] == 2
    assert row["customer_posts"] == 2
    # reply times: 30 min for the root, 60 min for post 3
    assert row["reply_seconds_median"] == 45 * 60


def test_rows_out_of_order_give_the_same_answer():
    rows = [
        ("1", None, "c", "customer", 0, "help"),
        ("2", "1", "Acme", "brand", 30, "hi"),
        ("3", "2", "c", "customer", 40, "still broken"),
    ]
    # `_root` is the root's row in the input, so it follows the order; nothing else may.
    forward = conv(make_posts(rows)).drop(columns="_root")
    backward = conv(make_posts(rows[::-1])).drop(columns="_root")
    pd.testing.assert_frame_equal(forward, backward.loc[forward.index])


def test_turns_come_by_conversation_in_opening_order_whatever_the_row_order():
    rows = [
        ("1", None, "c", "customer", 0, "help"),
        ("2", "1", "Acme", "brand", 30, "hi"),
        ("3", None, "d", "customer", 10, "also help"),
        ("4", "3", "Acme", "brand", 20, "hello"),
        ("5", "2", "c", "customer", 40, "still broken"),
    ]
    for order in (rows, rows[::-1], rows[2:] + rows[:2]):
        turns = build_threads(make_posts(order)).turns
        assert turns["post_id"].tolist() == ["1", "2", "5", "3", "4"]


def test_first_brand_post_answers_a_later_customer_post():
    # The brand ignores the root and answers the customer's follow-up: TTFR is measured
    # from the follow-up it answered, not from the root.
    posts = make_posts(
        [
            ("1", None, "c", "customer", 0, "my order never came"),
            ("2", "1", "c", "customer", 600, "hello?? anyone"),
            ("3", "2", "Acme", "brand", 610, "sorry! DM us"),
        ]
    )
    row = conv(posts).loc["1"]
    assert row["answered_post_id"] == "2"
    assert row["ttfr_seconds"] == 10 * 60


def test_multi_customer_thread_measures_from_the_customer_answered():
    posts = make_posts(
        [
            ("1", None, "a", "customer", 0, "outage?"),
            ("2", "1", "b", "customer", 50, "same here"),
            ("3", "2", "Acme", "brand", 55, "we're on it"),
        ]
    )
    row = conv(posts).loc["1"]
    assert row["answered_post_id"] == "2"
    assert row["ttfr_seconds"] == 5 * 60
    assert row["customer_posts"] == 2


def test_brand_replying_to_itself_finds_nearest_customer_ancestor():
    posts = make_posts(
        [
            ("1", None, "c", "customer", 0, "help"),
            ("2", "1", "Acme", "brand", 20, "one sec"),
            ("3", "2", "Acme", "brand", 21, "ok DM us"),
        ]
    )
    threads = build_threads(posts)
    turns = threads.turns.set_index("post_id")
    assert turns.loc["3", "answered_post_id"] == "1"
    assert threads.conversations.loc[0, "ttfr_seconds"] == 20 * 60
    assert threads.conversations.loc[0, "brand_posts"] == 2


def test_brand_initiated_trees_are_excluded():
    posts = make_posts(
        [
            ("1", None, "Acme", "brand", 0, "Big sale today!"),
            ("2", "1", "c", "customer", 5, "my order is late though"),
            ("3", "2", "Acme", "brand", 9, "sorry, DM us"),
        ]
    )
    threads = build_threads(posts)
    assert threads.conversations.empty
    assert threads.issues["brand_initiated_trees"] == 1


def test_reply_to_missing_parent_is_a_root():
    posts = make_posts(
        [
            ("5", "4", "c", "customer", 0, "@Acme and it is still broken"),
            ("6", "5", "Acme", "brand", 3, "sorry"),
        ]
    )
    threads = build_threads(posts)
    assert list(threads.conversations["conversation_id"]) == ["5"]
    assert threads.issues["replies_with_missing_parent"] == 1


def test_clock_skew_is_kept_negative_and_flagged():
    posts = make_posts(
        [
            ("1", None, "c", "customer", 10, "help"),
            ("2", "1", "Acme", "brand", 5, "hi"),
        ]
    )
    row = conv(posts).loc["1"]
    assert row["ttfr_seconds"] == -5 * 60
    assert row["clock_skew"]


def test_conversation_brand_is_first_brand_to_reply():
    posts = make_posts(
        [
            ("1", None, "c", "customer", 0, "@UPS @AmazonHelp where is my parcel"),
            ("2", "1", "AmazonHelp", "brand", 10, "sorry! DM us"),
            ("3", "1", "UPS", "brand", 20, "we can check"),
        ]
    )
    row = conv(posts).loc["1"]
    assert row["brand"] == "AmazonHelp"
    assert row["brand_posts"] == 1
    assert row["other_brand_posts"] == 1
    assert row["ttfr_seconds"] == 600


def test_reply_cycles_are_left_out_and_counted():
    posts = make_posts(
        [
            ("1", "2", "c", "customer", 0, "a"),
            ("2", "1", "Acme", "brand", 1, "b"),
            ("3", None, "c", "customer", 0, "help"),
        ]
    )
    threads = build_threads(posts)
    assert list(threads.conversations["conversation_id"]) == ["3"]
    assert threads.issues["posts_on_reply_cycles"] == 2


def test_same_id_on_two_platforms_are_two_posts():
    a = make_posts([("1", None, "c", "customer", 0, "help")], platform="twitter")
    b = make_posts([("1", None, "c", "customer", 0, "help")], platform="mastodon")
    threads = build_threads(pd.concat([a, b], ignore_index=True))
    assert sorted(threads.conversations["platform"]) == ["mastodon", "twitter"]


def test_empty_posts_give_no_conversations():
    threads = build_threads(make_posts([]))
    assert threads.conversations.empty


def test_posts_whose_time_was_derived_from_the_id_are_counted_for_the_quality_report():
    posts = make_posts(
        [
            (1, None, "cust", "customer", 0, "my order is late"),
            (2, 1, "Acme", "brand", 5, "sorry, DM us"),
            (3, 2, "Acme", "brand", 9, "help link"),
        ]
    )
    posts["raw_ref"] = pd.array(["dev.json#0", "dev.json#0", "dev.json#0#created_at-from-id"])
    assert build_threads(posts).issues["posts_with_derived_time"] == 1
    assert build_threads(posts.drop(columns=["raw_ref"])).issues["posts_with_derived_time"] == 0


def test_consuming_the_posts_gives_the_same_threads_and_empties_the_frame():
    rows = [
        ("1", None, "c", "customer", 0, "help"),
        ("2", "1", "Acme", "brand", 30, "hi"),
        ("3", "2", "c", "customer", 40, "still broken"),
        ("9", None, "Acme", "brand", 50, "a broadcast"),
    ]
    posts = make_posts(rows)
    kept = build_threads(posts)
    pd.testing.assert_frame_equal(posts, make_posts(rows))  # the caller's frame is untouched
    consumed = build_threads(posts, consume=True)
    pd.testing.assert_frame_equal(consumed.turns, kept.turns)
    pd.testing.assert_frame_equal(consumed.conversations, kept.conversations)
    assert consumed.issues == kept.issues
    assert len(posts.columns) < len(make_posts(rows).columns)
