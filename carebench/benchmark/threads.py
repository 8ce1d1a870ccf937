"""Reply trees: roots, nearest customer ancestors and depths, vectorised over all posts.

Posts point to their parent; walking those links one post at a time is too slow for
millions of posts, so every walk here is pointer jumping over integer arrays: each
round doubles the distance covered, so a thread of depth d needs about log2(d) rounds.
No thread is deeper than there are posts, so ceil(log2(posts)) + 1 rounds reach every
root: any depth is walked, and a walk still going after that is on a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from carebench.benchmark.arrow_text import as_arrow

NO_POST = -1


def jump_rounds(n: int) -> int:
    """Pointer-jumping rounds that cover any chain among `n` posts: ceil(log2(n)) + 1."""
    return max(n - 1, 0).bit_length() + 1


@dataclass(frozen=True)
class TreeIndex:
    """Integer links between posts, positions into the posts frame.

    parent[i]: position of i's parent, or NO_POST when the parent is absent.
    root[i]: position of the root of i's tree, or NO_POST when i sits on a cycle.
    customer_ancestor[i]: nearest customer post strictly above i, or NO_POST.
    """

    parent: np.ndarray
    root: np.ndarray
    customer_ancestor: np.ndarray


def parent_positions(posts: pd.DataFrame) -> np.ndarray:
    """Position of each post's parent in `posts`, NO_POST when absent from the data.

    Ids are unique per platform, not across platforms, and a reply's parent is on its
    own platform, so each platform is looked up on its own (pyarrow's hash lookup on the
    id strings, without building Python objects or `platform + id` keys).
    """
    positions = np.full(len(posts), NO_POST, dtype=np.int64)
    platform_codes, _ = pd.factorize(posts["platform"], use_na_sentinel=False)
    for code in np.unique(platform_codes):
        rows = np.flatnonzero(platform_codes == code)
        ids = as_arrow(posts["post_id"].iloc[rows].astype("string"))
        parents = as_arrow(posts["parent_id"].iloc[rows].astype("string"))
        found = pc.index_in(parents, value_set=ids)
        found = pc.fill_null(found, NO_POST).to_numpy(zero_copy_only=False).astype(np.int64)
        known = found != NO_POST
        positions[rows[known]] = rows[found[known]]
    return positions


def root_positions(parent: np.ndarray) -> np.ndarray:
    """The root of every post's tree by pointer jumping; NO_POST for posts on a cycle."""
    n = len(parent)
    own = np.arange(n, dtype=np.int64)
    up = np.where(parent == NO_POST, own, parent)
    # A post whose pointer did not move this round points to a root (or a self-reply)
    # for good. Once few still move (deep chains, cycles), only those are jumped.
    moving: np.ndarray | None = None
    for _ in range(jump_rounds(n)):
        if moving is None:
            jumped = up[up]
            moved = jumped != up
            up = jumped
            count = np.count_nonzero(moved)
            if count == 0:
                break
            if count * 8 < n:
                moving = np.flatnonzero(moved)
        else:
            target = up[moving]
            jumped = up[target]
            moved = jumped != target
            moving = moving[moved]
            if not len(moving):
                break
            up[moving] = jumped[moved]
    # A root points to itself and has no parent; anything else that settled on a
    # self-pointer, or never settled, is on (or hangs below) a cycle: a post that is,
    # through its replies, its own ancestor.
    settled = (parent[up] == NO_POST) & (up[up] == up)
    return np.where(settled, up, NO_POST)


def customer_ancestor_positions(parent: np.ndarray, is_customer: np.ndarray) -> np.ndarray:
    """Nearest customer post strictly above each post, by pointer jumping."""
    n = len(parent)
    own = np.arange(n, dtype=np.int64)
    has_parent = parent != NO_POST
    safe_parent = np.where(has_parent, parent, 0)
    direct = has_parent & is_customer[safe_parent]
    answer = np.where(direct, parent, NO_POST)
    # A post under a brand post inherits that brand post's answer; jump up the chain of
    # brand posts, doubling the stride each round, until a settled post is reached.
    settled = ~has_parent | direct
    pointer = np.where(settled, own, parent)
    for _ in range(jump_rounds(n)):
        waiting = np.flatnonzero(~settled)
        if not len(waiting):
            break
        target = pointer[waiting]
        arrived = settled[target]
        answer[waiting[arrived]] = answer[target[arrived]]
        # The gather on the right is a new array: every pointer jumps from the old ones.
        pointer[waiting[~arrived]] = pointer[target[~arrived]]
        settled[waiting[arrived]] = True
    return answer


def build_tree_index(posts: pd.DataFrame) -> TreeIndex:
    """Parent, root and nearest-customer-ancestor positions for every post."""
    parent = parent_positions(posts)
    is_customer = (posts["author_role"] == "customer").to_numpy(dtype=bool, na_value=False)
    return TreeIndex(
        parent=parent,
        root=root_positions(parent),
        customer_ancestor=customer_ancestor_positions(parent, is_customer),
    )
