"""Compiled loops for the template detector's MinHash search (numba).

Each kernel replaces a numpy expression that built large temporaries (one pass per
permutation, or a gathered copy of every candidate pair's rows) with a loop that reads
each value once. They compute exactly what the numpy versions did: same permutations,
same 32-bit wrap-around arithmetic, same counts. `cache=True` keeps the compiled code
beside this file, so only the first run on a machine pays the compile (~0.6 s).
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
def low_byte_agreements(sketches: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per pair, how many bytes of the two packed sketch rows are equal.

    Equal bytes are zero bytes of the XOR, counted eight at a time: the classic
    zero-byte test leaves bit 7 of each zero byte set (and no other bit), and one
    multiplication adds those bits up in the top byte.
    """
    low7 = np.uint64(0x7F7F7F7F7F7F7F7F)
    ones = np.uint64(0x0101010101010101)
    agree = np.empty(len(left), dtype=np.int64)
    words = sketches.shape[1]
    for pair in range(len(left)):
        same = np.uint64(0)
        for word in range(words):
            x = sketches[left[pair], word] ^ sketches[right[pair], word]
            zero_high_bits = ~(((x & low7) + low7) | x | low7)
            same += ((zero_high_bits >> np.uint64(7)) * ones) >> np.uint64(56)
        agree[pair] = same
    return agree


@njit(cache=True, nogil=True)
def shared_counts(
    indptr: np.ndarray, indices: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Per pair of rows, how many column indices they share (rows' indices sorted)."""
    shared = np.empty(len(left), dtype=np.int64)
    for pair in range(len(left)):
        a, a_end = indptr[left[pair]], indptr[left[pair] + 1]
        b, b_end = indptr[right[pair]], indptr[right[pair] + 1]
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
        shared[pair] = same
    return shared
