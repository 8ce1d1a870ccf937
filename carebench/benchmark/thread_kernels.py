"""Compiled loops over reply trees (numba).

A value gathered from every post below a post (the earliest brand reply under a customer
post) is a reduction over the tree, children before parents. Climbing from every post
to every ancestor costs posts x depth (a 30,000-deep chain: 3.7 GB); the loop here
visits each post once, in memory linear in posts, at any depth. `cache=True` keeps the
compiled code beside this file, so only the first run on a machine pays the compile.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def subtree_minimum(up: np.ndarray, value: np.ndarray) -> np.ndarray:
    """For each node, the least `value` over the node and every node below it.

    `up[i]` is the node above i (any forest: each post's nearest customer ancestor),
    or a negative number at a root. A node is folded into the one above it once all
    the nodes below it are (a count of the ones still waiting, then a stack of the
    ready ones: children before parents in one pass, no depth needed). Nodes on a
    cycle of `up` are never ready: they keep only what reached them.
    """
    n = len(up)
    best = value.copy()
    waiting = np.zeros(n, dtype=np.int64)
    for node in range(n):
        above = up[node]
        if above >= 0:
            waiting[above] += 1
    ready = np.empty(n, dtype=np.int64)
    top = 0
    for node in range(n):
        if waiting[node] == 0:
            ready[top] = node
            top += 1
    while top > 0:
        top -= 1
        node = ready[top]
        above = up[node]
        if above < 0:
            continue
        if best[node] < best[above]:
            best[above] = best[node]
        waiting[above] -= 1
        if waiting[above] == 0:
            ready[top] = above
            top += 1
    return best
