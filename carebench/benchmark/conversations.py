"""Posts -> conversations, exactly as METRICS.md defines them.

A conversation is the reply tree under a customer post whose parent is absent from
the data (its root). Trees rooted at a brand post are brand-initiated: kept in the
store, left out of care metrics. This module places every post in its tree, picks
each conversation's brand and measures the time to first response; text signals and
outcomes are added by `carebench.benchmark.scoring`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

# The brand rules, re-exported: callers have imported them from here.
from carebench.benchmark.brand_rules import account_brands, brand_of_posts, mentioned_brand
from carebench.benchmark.runs import first_of_runs, place_in_runs
from carebench.benchmark.threads import NO_POST, TreeIndex, build_tree_index
from carebench.schema import DERIVED_TIME_MARK


@dataclass(frozen=True)
class Threads:
    """Posts placed in their conversations, and one row per customer-started conversation.

    turns: every post of a customer-started tree, in time order within its conversation,
    with `conversation_id`, `turn` (0 = root), `is_brand_turn` (a post by the
    conversation's brand), `is_customer_turn`, `answered_post_id` for brand turns
    (the customer post it answers) and `reply_seconds` for customer turns.
    conversations: one row per customer-started conversation (see `build_threads`).
    issues: data-quality counts (orphans, cycles, clock skew).
    """

    turns: pd.DataFrame
    conversations: pd.DataFrame
    issues: dict[str, int]


# Posts columns that turns do not carry (see `build_threads`).
_PROVENANCE_COLUMNS = ("collector", "collected_at", "raw_ref", "lang", "root_id")


def build_threads(
    posts: pd.DataFrame, *, consume: bool = False, accounts: dict[str, str] | None = None
) -> Threads:
    """Rebuild conversations from normalised posts.

    Parameters
    ----------
    posts
        Normalised posts (see `carebench.schema`), any order, brands already mapped.
    consume
        Empty `posts` (in place) while building the turns, each column dropped as soon
        as it is copied: at 2.8M posts the posts and the turns held together cost
        ~0.8 GB more. For a caller that has no further use for the frame.
    accounts
        Brand account handle -> brand (`account_brands`) when `posts` are some brands'
        share of a store (`persisted`): the accounts of the whole store, so a root
        mentioning a brand gets the brand it gets in the whole store.

    Returns
    -------
    Threads
        `conversations` has one row per tree whose root is a customer post:
        conversation_id (root post id), platform, brand (brand of the first brand
        reply anywhere in the tree; for an unanswered root the first known brand
        account it mentions; <NA> when unassigned), brand_account (account of the
        first brand reply), customer_id (root author), opened_at, answered,
        first_response_at, first_response_id, answered_post_id (the customer post the
        first brand reply answers: its parent, or the nearest customer ancestor when
        the parent is a brand post), ttfr_seconds (float; NaN when unanswered; negative
        values are kept and flagged `clock_skew`), brand_posts (posts by the
        conversation's brand), customer_posts, other_brand_posts (posts by any other
        brand in the tree: they count for nobody in this conversation),
        reply_seconds_median (median over the customer turns that got an answer),
        _root (the root's row in `posts`, as the turns' `_root`: for joining).
    """
    if consume:
        posts.index = pd.RangeIndex(len(posts))
    else:
        # A frame of our own (sharing the caller's columns): dropping its columns below
        # leaves the caller's frame as it was.
        posts = posts.reset_index(drop=True)
    tree = build_tree_index(posts)
    n = len(posts)
    created = posts["created_at"]
    # Epoch seconds as floats: timezone-aware columns turn into slow object arrays in numpy.
    seconds = epoch_seconds(created).to_numpy()
    del created
    is_customer = (posts["author_role"] == "customer").to_numpy(dtype=bool, na_value=False)
    post_brand = brand_of_posts(posts)
    account_brand = account_brands(posts, post_brand) if accounts is None else accounts

    in_tree = tree.root != NO_POST
    root_is_customer = np.zeros(n, dtype=bool)
    root_is_customer[in_tree] = is_customer[tree.root[in_tree]]
    keep = np.flatnonzero(in_tree & root_is_customer)

    issues = tree_issues(posts, tree, is_customer)
    issues = {"posts": n, "posts_with_derived_time": _derived_times(posts), **issues}
    # Provenance columns say where a post came from, not what happened in the thread,
    # and no view reads the url (the store keeps it): the turns leave them out, and they
    # go now.
    for column in (*_PROVENANCE_COLUMNS, "url"):
        if column in posts.columns:
            del posts[column]

    # Turns in (tree, time, post id) order. Trees come in the order of their roots by
    # (platform, time, post id), whatever the row order.
    post_id = posts["post_id"]
    is_root = np.zeros(n, dtype=bool)
    is_root[tree.root[keep]] = True
    root_rows = np.flatnonzero(is_root)
    del is_root
    conversation_roots = conversation_order(posts, root_rows)
    platform_code = pd.factorize(posts["platform"].iloc[root_rows], sort=True)[0]
    root_order = _id_order((seconds[root_rows], platform_code), post_id.iloc[root_rows])
    root_rank = np.empty(n, dtype=np.int64)
    root_rank[root_rows[root_order]] = np.arange(len(root_rows))
    keep = keep[_id_order((seconds[keep], root_rank[tree.root[keep]]), post_id.iloc[keep])]
    del post_id, root_rank
    # Every later lookup of a post goes through its turn: a post's tree root and its
    # customer ancestors are in its own tree, so they are turns too.
    turn_of = np.full(n, -1, dtype=np.int64)
    turn_of[keep] = np.arange(len(keep))

    # Each column is copied into the turns and dropped from `posts` at once, so the
    # posts and their copy are never held whole together (~0.8 GB less at 2.8M posts).
    kept_columns = list(posts.columns)
    copied = {}
    for column in kept_columns:
        copied[column] = posts[column].iloc[keep].array
        del posts[column]
    turns = pd.DataFrame(copied, index=pd.Index(keep), copy=False)
    del copied
    turns["_pos"] = keep
    turns["_root"] = tree.root[keep]
    turns["post_brand"] = post_brand.iloc[keep].array
    del post_brand
    # Taken as Arrow strings: `.to_numpy()` would build millions of Python str objects.
    post_ids = turns["post_id"].astype("string")
    turns["conversation_id"] = post_ids.take(turn_of[turns["_root"].to_numpy()]).array

    # The conversation's brand: the brand of the earliest brand post in the tree.
    brand_turns = turns.loc[
        (turns["author_role"] == "brand").to_numpy(dtype=bool, na_value=False),
        ["_root", "post_brand", "author_handle"],
    ]
    first_brand = brand_turns[first_of_runs(brand_turns["_root"])].set_index("_root")
    root_columns = ["platform", "post_id", "author_id", "created_at", "text"]
    roots = turns[root_columns].iloc[turn_of[conversation_roots]].copy()
    roots.index = pd.Index(conversation_roots, name="_root")
    roots["brand"] = first_brand["post_brand"].reindex(roots.index)
    roots["brand_account"] = first_brand["author_handle"].reindex(roots.index)

    unanswered = roots["brand"].isna()
    roots.loc[unanswered, "brand"] = mentioned_brand(roots.loc[unanswered, "text"], account_brand)

    # Taken by position as Arrow strings (`.to_numpy()` would build a Python str per turn).
    root_position = np.empty(n, dtype=np.int64)
    root_position[conversation_roots] = np.arange(len(conversation_roots))
    root_of_turn = root_position[turns["_root"].to_numpy()]
    del root_position
    turns["conversation_brand"] = roots["brand"].astype("string").array.take(root_of_turn)
    turns["is_brand_turn"] = (turns["post_brand"] == turns["conversation_brand"]).fillna(False)
    turns["is_customer_turn"] = turns["author_role"] == "customer"
    # Each turn's place in its conversation: turns come grouped by root.
    turns["turn"] = place_in_runs(turns["_root"])

    # The customer post a brand turn answers: its nearest customer ancestor.
    answered_pos = tree.customer_ancestor[turns["_pos"].to_numpy()]
    has_answered = (answered_pos != NO_POST) & turns["is_brand_turn"].to_numpy(dtype=bool)
    answered_id = post_ids.take(np.where(has_answered, turn_of[answered_pos], 0)).array
    turns["answered_post_id"] = pd.Series(answered_id, index=turns.index).where(has_answered)

    turns["reply_seconds"] = _reply_seconds(turns, tree.customer_ancestor, seconds)

    own = turns.loc[
        turns["is_brand_turn"].to_numpy(dtype=bool),
        ["_root", "_pos", "created_at", "post_id", "answered_post_id"],
    ]
    first_own = own[first_of_runs(own["_root"])].set_index("_root")
    first_pos = first_own["_pos"].to_numpy()
    ttfr = seconds[first_pos] - seconds[tree.customer_ancestor[first_pos]]

    conversations = pd.DataFrame(
        {
            "conversation_id": roots["post_id"].astype("string"),
            "platform": roots["platform"].astype("string"),
            "brand": roots["brand"].astype("string"),
            "brand_account": roots["brand_account"].astype("string"),
            "customer_id": roots["author_id"].astype("string"),
            "opened_at": roots["created_at"],
            "root_text": roots["text"].astype("string"),
        },
        index=roots.index,
    )
    conversations["answered"] = conversations.index.isin(first_own.index)
    conversations["first_response_at"] = first_own["created_at"].reindex(conversations.index)
    conversations["first_response_id"] = first_own["post_id"].reindex(conversations.index)
    conversations["answered_post_id"] = first_own["answered_post_id"].reindex(conversations.index)
    conversations["ttfr_seconds"] = pd.Series(ttfr, index=first_own.index).reindex(
        conversations.index
    )
    conversations["clock_skew"] = conversations["ttfr_seconds"] < 0
    # Turns come grouped by root: the counts are sums over each root's run of rows
    # (Arrow-backed integers, as pandas sums the Arrow-backed flags).
    root = turns["_root"].to_numpy()
    starts = np.flatnonzero(first_of_runs(root))
    index = pd.Index(root[starts], name="_root")

    def run_sums(column: str) -> pd.Series:
        flags = turns[column].to_numpy(dtype=np.int64)
        sums = np.add.reduceat(flags, starts) if len(starts) else flags[:0]
        return pd.Series(sums, index=index, dtype=pd.ArrowDtype(pa.int64()))

    counts = pd.DataFrame(
        {
            "brand_posts": run_sums("is_brand_turn"),
            "customer_posts": run_sums("is_customer_turn"),
        },
        index=index,
    )
    counts["turns"] = pd.array(np.diff(np.r_[starts, len(root)]), dtype="Int64")
    conversations = conversations.join(counts)
    conversations["other_brand_posts"] = (
        conversations["turns"] - conversations["brand_posts"] - conversations["customer_posts"]
    )
    conversations["reply_seconds_median"] = (
        turns.groupby("_root", sort=False)["reply_seconds"].median().reindex(conversations.index)
    )
    issues["conversations"] = len(conversations)
    issues["clock_skew_conversations"] = int(conversations["clock_skew"].sum())
    issues["unassigned_conversations"] = int(conversations["brand"].isna().sum())

    # The root post's row in `posts`, as turns know it: the key the scoring joins on.
    conversations["_root"] = conversations.index.to_numpy()
    conversations = conversations.reset_index(drop=True)
    return Threads(turns=turns, conversations=conversations, issues=issues)


def _derived_times(posts: pd.DataFrame) -> int:
    """Posts whose time the collector derived from the id (see schema.DERIVED_TIME_MARK)."""
    if "raw_ref" not in posts.columns:
        return 0
    marked = posts["raw_ref"].astype("string").str.endswith(DERIVED_TIME_MARK)
    return int(marked.fillna(False).sum())


def conversation_order(posts: pd.DataFrame, root_rows: np.ndarray) -> np.ndarray:
    """The root rows in the conversations' order: opening time, then id, then platform.

    Platform last because two platforms may reuse an id; the order never follows the
    rows. A numeric sort, with strings compared only on ties.
    """
    opened = posts["created_at"].astype("int64").to_numpy()[root_rows]
    ties = pd.DataFrame(
        {
            "id": posts["post_id"].iloc[root_rows].array,
            "platform": posts["platform"].iloc[root_rows].array,
        }
    )
    return root_rows[_id_order((opened,), ties)]


def _id_order(keys: tuple[np.ndarray, ...], tie_break: pd.Series | pd.DataFrame) -> np.ndarray:
    """The order that sorts rows by `keys` (last key first, as `np.lexsort`), then `tie_break`.

    Numeric keys sort with numpy; only the rows that tie on every key (two posts of one
    tree in the same second, two conversations opened in the same microsecond) are
    sorted again by the tie-break column(s), so millions of strings are never compared.
    """
    order = np.lexsort(keys)
    tied = np.ones(max(len(order) - 1, 0), dtype=bool)
    for key in keys:
        ranked = key[order]
        tied &= ranked[1:] == ranked[:-1]
    tied = np.r_[False, tied] if len(order) else tied
    if tied.any():
        in_tie = tied | np.r_[tied[1:], False]
        slots = np.flatnonzero(in_tie)
        columns = tie_break.to_frame() if isinstance(tie_break, pd.Series) else tie_break
        ties = columns.iloc[order[slots]].reset_index(drop=True)
        names = [f"_tie{i}" for i in range(ties.shape[1])]
        ties.columns = names
        ties["_group"] = np.cumsum(~tied)[slots]
        ties["_row"] = order[slots]
        order[slots] = ties.sort_values(["_group", *names], kind="stable")["_row"].to_numpy()
    return order


def tree_issues(posts: pd.DataFrame, tree: TreeIndex, is_customer: np.ndarray) -> dict[str, int]:
    """Data-quality counts of the reply trees of all posts (see `build_threads`)."""
    in_tree = tree.root != NO_POST
    return {
        "posts": len(posts),
        "posts_on_reply_cycles": int((~in_tree).sum()),
        "brand_initiated_trees": int(((tree.parent == NO_POST) & ~is_customer & in_tree).sum()),
        "replies_with_missing_parent": int(
            (posts["parent_id"].notna().to_numpy() & (tree.parent == NO_POST)).sum()
        ),
    }


def epoch_seconds(created: pd.Series) -> pd.Series:
    """Seconds since the epoch (float) for a UTC timestamp column, same index."""
    naive = created.dt.tz_convert("UTC").dt.tz_localize(None)
    micros = naive.to_numpy(dtype="datetime64[us]").astype(np.int64)
    return pd.Series(micros / 1e6, index=created.index)


def _reply_seconds(
    turns: pd.DataFrame, customer_ancestor: np.ndarray, seconds: np.ndarray
) -> pd.Series:
    """Seconds from each customer turn to the earliest brand turn in its reply subtree.

    A brand turn answers every customer turn above it in the tree; for each customer
    turn the earliest such brand turn counts. NaN for customer turns never answered
    and for brand turns. Only the conversation's own brand answers.
    """
    # Imported here: numba takes ~0.2 s to load, and the kernel only on first use.
    from carebench.benchmark.thread_kernels import subtree_minimum

    # Each brand turn's time, carried up the tree of nearest customer ancestors: a
    # customer post's earliest answer is the least time in its subtree there (its own
    # is inf). One pass, children before parents: memory linear in posts at any depth.
    brand_pos = turns.loc[turns["is_brand_turn"], "_pos"].to_numpy()
    answer_time = np.full(len(customer_ancestor), np.inf)
    answer_time[brand_pos] = seconds[brand_pos]
    earliest = subtree_minimum(customer_ancestor, answer_time)
    del answer_time
    result = pd.Series(np.nan, index=turns.index)
    customer_rows = turns["is_customer_turn"].to_numpy()
    positions = turns["_pos"].to_numpy()[customer_rows]
    answered_at = earliest[positions]
    answered_at[np.isinf(answered_at)] = np.nan
    result[customer_rows] = answered_at - seconds[positions]
    return result
