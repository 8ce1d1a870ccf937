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
    or a negative number at a root. A node is folded into the one above it once every
    node below it is: each node counts the nodes still to come from below, and a walk
    from each leaf folds upward as long as the node above has nothing more to wait
    for (children before parents in one pass, no depth and no queue needed). Nodes on
    a cycle of `up` never stop waiting: they keep only what reached them.
    """
    n = len(up)
    best = value.copy()
    # Nodes below each node still to fold into it; -1 once it is folded itself.
    # int32: a count never reaches 2**31 posts, and half the memory traffic.
    waiting = np.zeros(n, dtype=np.int32)
    for node in range(n):
        above = up[node]
        if above >= 0:
            waiting[above] += 1
    for leaf in range(n):
        if waiting[leaf] != 0:
            continue
        node = leaf
        while True:
            waiting[node] = -1
            above = up[node]
            if above < 0:
                break
            if best[node] < best[above]:
                best[above] = best[node]
            waiting[above] -= 1
            if waiting[above] != 0:
                break
            node = above
    return best
