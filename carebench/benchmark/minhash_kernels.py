"""Compiled loops for the template detector's shingle hashing and MinHash search (numba).

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
def similar_enough(
    indptr: np.ndarray, indices: np.ndarray, left: Row, right: Row, threshold: float
) -> bool:
    """Whether two CSR rows' column sets have a Jaccard similarity >= `threshold`.

    The same test as shared / (sizes - shared) >= threshold (shared columns over the
    union), but the merge stops as soon as the columns left cannot reach the shared count needed:
    most candidate pairs fail, and fail early. `needed` is the least shared count that
    passes, found with that very expression, so the answer is the same to the last bit.
    """
    a, a_end = indptr[left], indptr[left + 1]
    b, b_end = indptr[right], indptr[right + 1]
    sizes = (a_end - a) + (b_end - b)
    if sizes == 0:
        return False
    # shared / (sizes - shared) grows with shared, and shared <= sizes // 2: the least
    # passing count is found by stepping up from just below the exact root.
    needed = max(int(threshold * sizes / (1.0 + threshold)) - 1, 0)
    while needed <= sizes // 2 and needed / (sizes - needed) < threshold:
        needed += 1
    same = 0
    while a < a_end and b < b_end:
        if same + min(a_end - a, b_end - b) < needed:
            return False
        if indices[a] == indices[b]:
            same += 1
            a += 1
            b += 1
        elif indices[a] < indices[b]:
            a += 1
        else:
            b += 1
    return same >= needed


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
    position: np.ndarray,
    band_starts: np.ndarray,
    anchors: int,
    sketches: np.ndarray,
    min_equal_bytes: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    threshold: float,
) -> np.ndarray:
    """Verified pairs (n x 2, smaller row first) that join two components, band by band.

    `rows` and `position` are the LSH buckets of every band one after the other (a row,
    its place in its bucket; a bucket's rows are contiguous); band b holds the
    entries band_starts[b]:band_starts[b + 1]. In each bucket, the rows at positions
    0.. anchors - 1 are anchors, and every row is paired with each anchor before it. A
    pair needs `min_equal_bytes` equal sketch bytes, then must join two components (a
    pair already in one could not change a component), then needs an exact Jaccard of
    its shingle columns of at least `threshold` (`similar_enough`).

    The sketches of a band's rows are first copied in bucket order: the ~40M candidate
    pairs of 1.3M brand posts then read them from a few MB in order instead of from
    all over memory (5.0 s -> 3.4 s). Buckets are walked one at a time, each row
    against its own anchors only: walking the whole band once per anchor visited every
    row `anchors` times to find the few rows of big buckets (3.5 s -> 2.1 s). Which
    pairs join components depends on the order they come in; the components do not.
    """
    parent = np.arange(len(indptr) - 1)
    # Every accepted pair joins two components, so there are fewer of them than rows.
    found = np.empty((len(indptr) - 1, 2), dtype=np.int64)
    count = 0
    widest = 0
    for band in range(len(band_starts) - 1):
        widest = max(widest, band_starts[band + 1] - band_starts[band])
    local = np.empty((widest, sketches.shape[1]), dtype=sketches.dtype)
    for band in range(len(band_starts) - 1):
        start, end = band_starts[band], band_starts[band + 1]
        for at in range(start, end):
            local[at - start] = sketches[rows[at]]
        bucket = start
        while bucket < end:
            # A bucket's rows are contiguous and its first row is at position 0.
            stop = bucket + 1
            while stop < end and position[stop] != 0:
                stop += 1
            for head_at in range(bucket, min(bucket + anchors, stop - 1)):
                head = np.int64(rows[head_at])
                for at in range(head_at + 1, stop):
                    if equal_bytes(local, at - start, head_at - start) < min_equal_bytes:
                        continue
                    member = np.int64(rows[at])
                    member_root = _root(parent, member)
                    head_root = _root(parent, head)
                    if member_root == head_root:
                        continue
                    if not similar_enough(indptr, indices, member, head, threshold):
                        continue
                    parent[member_root] = head_root
                    found[count, 0] = min(member, head)
                    found[count, 1] = max(member, head)
                    count += 1
            bucket = stop
    return found[:count]


# SipHash-2-4 constants ("somepseudorandomlygeneratedbytes") and SplitMix64 multipliers.
_SIP_INIT = (
    np.uint64(0x736F6D6570736575),
    np.uint64(0x646F72616E646F6D),
    np.uint64(0x6C7967656E657261),
    np.uint64(0x7465646279746573),
)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True, inline="always")
def _rotl(x: np.uint64, bits: int) -> np.uint64:
    return (x << np.uint64(bits)) | (x >> np.uint64(64 - bits))


@njit(cache=True, nogil=True, inline="always")
def _sip_rounds(
    v0: np.uint64, v1: np.uint64, v2: np.uint64, v3: np.uint64, rounds: int
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    for _ in range(rounds):
        v0 += v1
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 += v3
        v3 = _rotl(v3, 16) ^ v2
        v0 += v3
        v3 = _rotl(v3, 21) ^ v0
        v2 += v1
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@njit(cache=True, nogil=True)
def siphash24(data: np.ndarray, start: int, end: int, k0: np.uint64, k1: np.uint64) -> np.uint64:
    """SipHash-2-4 of data[start:end] with the 128-bit key (k0, k1), as pandas hashes text."""
    v0 = k0 ^ _SIP_INIT[0]
    v1 = k1 ^ _SIP_INIT[1]
    v2 = k0 ^ _SIP_INIT[2]
    v3 = k1 ^ _SIP_INIT[3]
    length = end - start
    tail = start + (length // 8) * 8
    for at in range(start, tail, 8):
        m = np.uint64(0)
        for i in range(8):
            m |= np.uint64(data[at + i]) << np.uint64(8 * i)
        v3 ^= m
        v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3, 2)
        v0 ^= m
    # The last block: the bytes left over, and the length's low byte on top.
    m = np.uint64(length & 0xFF) << np.uint64(56)
    for i in range(end - tail):
        m |= np.uint64(data[tail + i]) << np.uint64(8 * i)
    v3 ^= m
    v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3, 2)
    v0 ^= m
    v2 ^= np.uint64(0xFF)
    v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3, 4)
    return v0 ^ v1 ^ v2 ^ v3


@njit(cache=True, nogil=True, inline="always")
def split_mix(x: np.uint64) -> np.uint64:
    """The SplitMix64 finaliser (as `templates._mix` and pandas' `hash_array`)."""
    x ^= x >> np.uint64(30)
    x *= _MIX_1
    x ^= x >> np.uint64(27)
    x *= _MIX_2
    return x ^ (x >> np.uint64(31))


@njit(cache=True, nogil=True)
def shingle_hashes(
    offsets: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    salt: np.ndarray,
    weights: np.ndarray,
    key: np.ndarray,
    out: np.ndarray,
) -> None:
    """The hashes of every word shingle of the texts `rows`, text after text, into `out`.

    Texts are the strings of an Arrow array (its `offsets` and `data`), words are split on
    single spaces. A word's hash is pandas' `hash_array` of it (SipHash-2-4 with `key`,
    then SplitMix64); a shingle of len(weights) words starting at word i hashes to
    SplitMix64(sum_k hash(word i+k) * weights[k] + salt[text]), wrapping at 2**64. Each
    text has at least len(weights) words; `out` holds their shingles, words - len + 1 each.
    """
    width = len(weights)
    ring = np.empty(width, dtype=np.uint64)
    k0, k1 = key[0], key[1]
    at = 0
    for i in range(len(rows)):
        start = offsets[rows[i]]
        end = offsets[rows[i] + 1]
        words = 0
        word_start = start
        for p in range(start, end + 1):
            if p < end and data[p] != 32:
                continue
            ring[words % width] = split_mix(siphash24(data, word_start, p, k0, k1))
            words += 1
            word_start = p + 1
            if words >= width:
                combined = salt[i]
                for k in range(width):
                    combined += ring[(words - width + k) % width] * weights[k]
                out[at] = split_mix(combined)
                at += 1


@njit(cache=True, nogil=True)
def band_buckets(
    keys: np.ndarray, by_rank: np.ndarray, slots: np.ndarray, bucket_of_slot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The buckets of one LSH band holding >= 2 rows: (rows, position in the bucket).

    keys[i] is row i's band key (mixed, so its low bits spread well); rows with equal
    keys share a bucket. Buckets come in the order of their first row, rows inside a
    bucket in rank order (`by_rank` lists the rows by rank). `slots` and
    `bucket_of_slot` are a hash table of a power-of-two size > len(keys), reused from
    band to band (its contents are overwritten).
    """
    count = len(keys)
    mask = np.uint64(len(slots) - 1)
    bucket_of_slot[:] = -1
    bucket = np.empty(count, dtype=np.int64)
    buckets = 0
    for row in range(count):
        slot = keys[row] & mask
        while bucket_of_slot[slot] >= 0 and slots[slot] != keys[row]:
            slot = (slot + np.uint64(1)) & mask
        if bucket_of_slot[slot] < 0:
            slots[slot] = keys[row]
            bucket_of_slot[slot] = buckets
            buckets += 1
        bucket[row] = bucket_of_slot[slot]
    size = np.zeros(buckets, dtype=np.int64)
    for row in range(count):
        size[bucket[row]] += 1
    # Where each shared bucket starts in the output (buckets of one row are left out).
    start = np.full(buckets, -1, dtype=np.int64)
    total = 0
    for b in range(buckets):
        if size[b] >= 2:
            start[b] = total
            total += size[b]
    rows = np.empty(total, dtype=np.int32)
    position = np.empty(total, dtype=np.int32)
    filled = np.zeros(buckets, dtype=np.int64)
    for row in by_rank:
        b = bucket[row]
        if start[b] < 0:
            continue
        at = start[b] + filled[b]
        rows[at] = row
        position[at] = filled[b]
        filled[b] += 1
    return rows, position


@njit(cache=True, nogil=True)
def band_keys(signatures: np.ndarray, rows_per_band: int, multipliers: np.ndarray) -> np.ndarray:
    """keys[b, i]: SplitMix64(b + sum_r signatures[i, b * rows + r] * multipliers[r]).

    One pass over the signatures row by row (reading a band's columns of every row
    strides through memory: it took 0.5 s for 0.7M rows).
    """
    count, width = signatures.shape
    bands = width // rows_per_band
    keys = np.empty((bands, count), dtype=np.uint64)
    for i in range(count):
        for b in range(bands):
            key = np.uint64(b)
            for r in range(rows_per_band):
                key += np.uint64(signatures[i, b * rows_per_band + r]) * multipliers[r]
            keys[b, i] = split_mix(key)
    return keys


@njit(cache=True, nogil=True)
def lonely_counts(
    hashes: np.ndarray, offsets: np.ndarray, bits: int, table: np.ndarray, out: np.ndarray
) -> None:
    """out[t]: how many hashes of text t are alone in their slot (see below).

    Text t's hashes are hashes[offsets[t]:offsets[t + 1]]; a hash is alone when no other
    hash of `hashes` shares its top `bits` bits (its slot). `table` holds at least
    2**bits zeroed counters and is left zeroed again. Counts stop at 2, so one byte per
    slot will do: only "exactly one" matters.
    """
    shift = np.uint64(64 - bits)
    for value in hashes:
        slot = value >> shift
        if table[slot] < 2:
            table[slot] += 1
    for text in range(len(offsets) - 1):
        alone = 0
        for i in range(offsets[text], offsets[text + 1]):
            if table[hashes[i] >> shift] == 1:
                alone += 1
        out[text] = alone
    for value in hashes:
        table[value >> shift] = 0
