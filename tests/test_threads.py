"""Pointer-jumping walks over reply links against a plain walk, on any shape of links."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from carebench.benchmark.threads import (
    NO_POST,
    customer_ancestor_positions,
    jump_rounds,
    root_positions,
)


@st.composite
def reply_links(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Parents (NO_POST or any post, cycles included) and customer flags; long chains too."""
    n = draw(st.integers(1, 200))
    spine = draw(st.booleans())  # mostly one long chain: the pointers move many rounds
    parent = np.arange(n, dtype=np.int64) - 1 if spine else np.full(n, NO_POST)
    for post in draw(st.lists(st.integers(0, n - 1), max_size=20)):
        parent[post] = draw(st.integers(NO_POST, n - 1))
    customer = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return parent, customer


def walk(parent: np.ndarray, post: int) -> list[int] | None:
    """The posts above `post`, nearest first, or None when the walk meets a cycle."""
    seen = [post]
    while parent[seen[-1]] != NO_POST:
        above = int(parent[seen[-1]])
        if above in seen:
            return None
        seen.append(above)
    return seen[1:]


@settings(max_examples=300, deadline=None)
@given(reply_links())
def test_roots_and_customer_ancestors_match_a_plain_walk(links):
    parent, customer = links
    roots = root_positions(parent)
    ancestors = customer_ancestor_positions(parent, customer)
    for post in range(len(parent)):
        above = walk(parent, post)
        if above is None:
            assert roots[post] == NO_POST
            continue
        assert roots[post] == (above[-1] if above else post)
        nearest = [a for a in above if customer[a]]
        assert ancestors[post] == (nearest[0] if nearest else NO_POST)


def test_rounds_cover_the_deepest_chain_of_n_posts():
    for n in (1, 2, 3, 4, 5, 1000, 65_537, 100_000, 2_800_000):
        assert 2 ** (jump_rounds(n) - 1) >= n - 1
