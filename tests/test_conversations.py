"""Conversations: roots, brand assignment, TTFR and reply times on hand-built threads."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carebench.benchmark.conversations import build_threads
from carebench.benchmark.threads import NO_POST, build_tree_index
from carebench.schema import conform_posts
from tests.conftest import T0, make_posts


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


# -- deep threads and cycles ---------------------------------------------------------------


def chain_posts(n: int, *, spine: bool = True, first: int = 1) -> pd.DataFrame:
    """Posts first..first+n-1, a minute apart, customer (odd) and brand "Acme" (even).

    With `spine` each post replies to the one before (one conversation n deep); without,
    each brand post answers the customer post before it (n / 2 conversations of two).
    """
    i = np.arange(first, first + n)
    customer = i % 2 == 1
    before = (i - 1).astype(str)
    parent = np.where(i > first, before, None) if spine else np.where(customer, None, before)
    return conform_posts(
        pd.DataFrame(
            {
                "platform": "twitter",
                "post_id": i.astype(str),
                "parent_id": parent,
                "author_id": np.where(customer, "c", "Acme"),
                "author_handle": np.where(customer, "c", "Acme"),
                "author_role": np.where(customer, "customer", "brand"),
                "brand": np.where(customer, None, "Acme"),
                "created_at": T0 + pd.to_timedelta(i, unit="min"),
                "text": np.where(customer, "still broken", "sorry, DM us"),
                "collector": "test",
            }
        )
    )


def test_a_100000_deep_chain_keeps_every_post_in_its_one_conversation():
    n = 100_000
    posts = chain_posts(n)
    # Every post's root is the first post (checked first: old code also took GBs below).
    assert (build_tree_index(posts).root == 0).all()
    threads = build_threads(posts)
    assert threads.issues["posts_on_reply_cycles"] == 0
    assert len(threads.conversations) == 1
    row = threads.conversations.iloc[0]
    assert row["conversation_id"] == "1"
    assert (row["turns"], row["customer_posts"], row["brand_posts"]) == (n, n // 2, n // 2)
    assert row["ttfr_seconds"] == 60.0
    assert row["reply_seconds_median"] == 60.0
    turns = threads.turns
    assert turns["post_id"].tolist() == [str(i) for i in range(1, n + 1)]
    assert (turns["conversation_id"] == "1").all()
    assert turns["turn"].tolist() == list(range(n))
    customer = turns["is_customer_turn"].to_numpy(dtype=bool)
    # Each customer post is answered by the brand a minute later; brand turns have none.
    assert (turns.loc[customer, "reply_seconds"] == 60.0).all()
    assert turns.loc[~customer, "reply_seconds"].isna().all()
    answered = turns.loc[~customer, "answered_post_id"].astype(str).tolist()
    assert answered == [str(i) for i in range(1, n, 2)]


def test_a_cycle_is_still_reported_as_a_cycle_beside_a_deep_chain():
    # A 70,000-deep chain (deeper than any fixed cap) beside a 3-post reply cycle with a
    # 5-post branch hanging below it: only the 8 cycle posts are left out.
    cycle = make_posts(
        [
            ("c1", "c3", "x", "customer", 0, "a"),
            ("c2", "c1", "Acme", "brand", 1, "b"),
            ("c3", "c2", "x", "customer", 2, "c"),
            *[
                (f"b{k}", "c2" if k == 0 else f"b{k - 1}", "x", "customer", 3 + k, "d")
                for k in range(5)
            ],
        ]
    )
    posts = pd.concat([chain_posts(70_000), cycle], ignore_index=True)
    assert (build_tree_index(posts).root == NO_POST).sum() == 8
    threads = build_threads(posts)
    assert threads.issues["posts_on_reply_cycles"] == 8
    assert threads.conversations["conversation_id"].tolist() == ["1"]
    assert threads.conversations.loc[0, "turns"] == 70_000
    assert not threads.turns["post_id"].isin(cycle["post_id"]).any()


def test_reply_times_take_memory_linear_in_posts_not_in_depth():
    # The same 4,000 posts as one chain or as 2,000 two-post threads: building the
    # threads allocates about as much either way (climbing every level of the chain
    # from every brand post took ~60x more here, and GBs at 30,000 deep).
    def peak_bytes(posts: pd.DataFrame) -> int:
        build_threads(posts)  # warm: first calls compile and cache
        tracemalloc.start()
        try:
            build_threads(posts)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    shallow = peak_bytes(chain_posts(4_000, spine=False))
    deep = peak_bytes(chain_posts(4_000))
    assert deep < 2 * shallow


@st.composite
def forests(draw: st.DrawFn) -> list[tuple]:
    """Small reply graphs of any shape: missing parents, cycles, two brands, tied times."""
    n = draw(st.integers(1, 14))
    rows = []
    for i in range(n):
        parent = draw(st.one_of(st.none(), st.integers(0, n + 1)))  # n, n+1: absent posts
        role = draw(st.sampled_from(["customer", "customer", "brand"]))
        author = draw(st.sampled_from(["Acme", "Bolt"])) if role == "brand" else "c"
        rows.append(
            (
                str(i),
                None if parent is None else str(parent),
                author,
                role,
                draw(st.integers(0, 6)),
                "hi",
            )
        )
    return rows


def reference_reply_seconds(turns: pd.DataFrame) -> dict[str, float]:
    """Each customer turn's reply seconds by a plain walk up from every brand turn."""
    parent = dict(zip(turns["post_id"], turns["parent_id"], strict=True))
    role = dict(zip(turns["post_id"], turns["author_role"], strict=True))
    seconds = {p: t.timestamp() for p, t in zip(turns["post_id"], turns["created_at"], strict=True)}
    earliest: dict[str, float] = {}
    for post, own in zip(turns["post_id"], turns["is_brand_turn"], strict=True):
        if not own:
            continue
        above = parent[post]
        while above is not None and not pd.isna(above) and above in parent:
            if role[above] == "customer":
                earliest[above] = min(earliest.get(above, np.inf), seconds[post])
            above = parent[above]
    return {
        post: earliest[post] - seconds[post] if post in earliest else np.nan
        for post, customer in zip(turns["post_id"], turns["is_customer_turn"], strict=True)
        if customer
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forests())
def test_reply_seconds_match_a_plain_walk_up_the_tree(rows):
    threads = build_threads(make_posts(rows))
    turns = threads.turns
    expected = reference_reply_seconds(turns)
    got = dict(zip(turns["post_id"], turns["reply_seconds"], strict=True))
    for post, seconds in expected.items():
        assert got[post] == seconds or (np.isnan(got[post]) and np.isnan(seconds)), post
    # No post is dropped: every post under a customer root is a turn, the rest are on
    # cycles or in brand-started trees.
    parent = {r[0]: r[1] for r in rows}
    role = {r[0]: r[3] for r in rows}

    def root_of(post: str) -> str | None:
        seen = set()
        while parent[post] is not None and parent[post] in parent:
            if post in seen:
                return None
            seen.add(post)
            post = parent[post]
        return post

    roots = {r[0]: root_of(r[0]) for r in rows}
    kept = {p for p, root in roots.items() if root is not None and role[root] == "customer"}
    assert set(turns["post_id"]) == kept
    assert threads.issues["posts_on_reply_cycles"] == sum(r is None for r in roots.values())
