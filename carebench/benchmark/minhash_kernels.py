"""Compiled loops for the template detector's MinHash search (numba).

Each kernel replaces numpy expressions that built large temporaries (one pass per
permutation; each search step's candidate pairs gathered, sorted and filtered in a dozen
array passes) with a loop that reads each value once. They compute what the numpy
versions did: same permutations, same 32-bit wrap-around arithmetic, same counts, and
the same template groups. `cache=True` keeps the compiled code
beside this file, so only the first run on a machine pays the compile (~0.6 s).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# A row number, as a Python int or a numpy integer read from an array.
Row = int | np.integer


@njit(cache=True, nogil=True)
def minhash_rows(
    indptr: np.ndarray,
    values: np.ndarray,
    multipliers: np.ndarray,
    offsets: np.ndarray,
    out: np.ndarray,
) -> None:
    """Per row of a CSR slice, min over its values v of (a_k * v + b_k) mod 2**32.

    `indptr` holds len(out) + 1 positions into `values` (each shingle's 32-bit hash);
    row r's signature goes to out[r]. Releases the GIL, so halves run in two threads.
    """
    count = len(multipliers)
    for row in range(len(indptr) - 1):
        for k in range(count):
            out[row, k] = np.uint32(0xFFFFFFFF)
        for at in range(indptr[row], indptr[row + 1]):
            value = values[at]
            for k in range(count):
                hashed = np.uint32(multipliers[k] * value + offsets[k])
                if hashed < out[row, k]:
                    out[row, k] = hashed


@njit(cache=True, nogil=True)
def equal_bytes(sketches: np.ndarray, left: Row, right: Row) -> int:
    """How many bytes of two packed sketch rows are equal.

    Equal bytes are zero bytes of the XOR, counted eight at a time: the classic
    zero-byte test leaves bit 7 of each zero byte set (and no other bit), and one
    multiplication adds those bits up in the top byte.
    """
    low7 = np.uint64(0x7F7F7F7F7F7F7F7F)
    ones = np.uint64(0x0101010101010101)
    same = np.uint64(0)
    for word in range(sketches.shape[1]):
        x = sketches[left, word] ^ sketches[right, word]
        zero_high_bits = ~(((x & low7) + low7) | x | low7)
        same += ((zero_high_bits >> np.uint64(7)) * ones) >> np.uint64(56)
    return int(same)


@njit(cache=True, nogil=True)
def shared_columns(indptr: np.ndarray, indices: np.ndarray, left: Row, right: Row) -> int:
    """How many column indices two CSR rows share (each row's indices sorted)."""
    a, a_end = indptr[left], indptr[left + 1]
    b, b_end = indptr[right], indptr[right + 1]
    same = 0
    while a < a_end and b < b_end:
        if indices[a] == indices[b]:
            same += 1
            a += 1
            b += 1
        elif indices[a] < indices[b]:
            a += 1
        else:
            b += 1
    return same


@njit(cache=True, nogil=True)
def _root(parent: np.ndarray, node: Row) -> Row:
    """The representative of `node`'s component (path halving keeps the trees flat)."""
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


@njit(cache=True, nogil=True)
def linked_bucket_pairs(
    rows: np.ndarray,
    first: np.ndarray,
    position: np.ndarray,
    anchors: int,
    sketches: np.ndarray,
    min_equal_bytes: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    threshold: float,
) -> np.ndarray:
    """Verified pairs (n x 2, smaller row first) that join two components, anchor by anchor.

    `rows`, `first` and `position` are the LSH buckets of every band one after the
    other (a row, where its bucket starts, its place in the bucket). Step a pairs every
    row at position > a with its bucket's row at position a. A pair already in one
    component is skipped: it could not change a component. Otherwise the pair needs
    `min_equal_bytes` equal sketch bytes (`equal_bytes`), then an exact Jaccard of its
    shingle columns (`shared_columns`) of at least `threshold`.

    One loop with a live union-find: the numpy version built each step's pairs, sorted,
    filtered and merged them in a dozen array passes (2.5 s more CPU on 1.3M posts).
    """
    parent = np.arange(len(indptr) - 1)
    # Every accepted pair joins two components, so there are fewer of them than rows.
    found = np.empty((len(indptr) - 1, 2), dtype=np.int64)
    count = 0
    for anchor in range(anchors):
        for at in range(len(rows)):
            if position[at] <= anchor:
                continue
            member = np.int64(rows[at])
            head = np.int64(rows[first[at] + anchor])
            member_root = _root(parent, member)
            head_root = _root(parent, head)
            if member_root == head_root:
                continue
            if equal_bytes(sketches, member, head) < min_equal_bytes:
                continue
            shared = shared_columns(indptr, indices, member, head)
            sizes = (indptr[member + 1] - indptr[member]) + (indptr[head + 1] - indptr[head])
            if shared / (sizes - shared) < threshold:
                continue
            parent[member_root] = head_root
            found[count, 0] = min(member, head)
            found[count, 1] = max(member, head)
            count += 1
    return found[:count]
