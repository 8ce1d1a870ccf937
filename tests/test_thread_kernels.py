"""The compiled reduction over reply trees against a plain walk, on any shape of links."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from carebench.benchmark.thread_kernels import subtree_minimum


def links(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 40))
    up = np.array(draw(st.lists(st.integers(-1, n - 1), min_size=n, max_size=n)), dtype=np.int64)
    value = np.array(
        draw(st.lists(st.sampled_from([np.inf, 0.0, 1.5, 2.0, -3.0]), min_size=n, max_size=n))
    )
    return up, value


def chain_above(up: np.ndarray, node: int) -> list[int] | None:
    """The node and every node above it, or None when the walk meets a cycle."""
    seen: list[int] = []
    while node >= 0:
        if node in seen:
            return None
        seen.append(node)
        node = int(up[node])
    return seen


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_subtree_minimum_is_the_least_value_at_or_below_each_node(data):
    up, value = links(data.draw)
    best = subtree_minimum(up, value)
    expected = value.copy()
    on_cycle = set()
    for node in range(len(up)):
        above = chain_above(up, node)
        if above is None:
            on_cycle.add(node)
            continue
        for ancestor in above:
            expected[ancestor] = min(expected[ancestor], value[node])
    # Nodes on a cycle (and under one) have no subtree; every other node is exact.
    exact = [i for i in range(len(up)) if i not in on_cycle]
    assert np.array_equal(best[exact], expected[exact])


def test_a_million_deep_chain_folds_into_its_root():
    n = 1_000_000
    up = np.arange(n, dtype=np.int64) - 1
    value = np.arange(n, 0, -1, dtype=np.float64)
    assert np.array_equal(subtree_minimum(up, value), np.ones(n))
