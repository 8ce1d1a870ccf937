"""Templated replies: normalisation, near-duplicate groups, top templates (METRICS.md)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from carebench.benchmark.minhash_kernels import equal_bytes, similar_enough
from carebench.benchmark.templates import (
    _ANCHORS,
    _BANDS,
    _MIN_AGREEMENT,
    _ROWS,
    TemplateSettings,
    _byte_sketches,
    _lsh_buckets,
    _minhash,
    _mix,
    _shingle_hashes,
    _verify_buckets,
    find_templates,
    normalise_text,
    search_templates,
    templated_ratio,
    top_templates,
)
from tests.conftest import twcs_file

# Distinct letter-only words, so shingles never repeat inside a text and no mask applies.
WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
)


def frame(*rows: tuple[str, str]) -> pd.DataFrame:
    """Brand posts from (brand, text) pairs, post ids p0, p1, ..."""
    return pd.DataFrame(
        {
            "brand": [brand for brand, _ in rows],
            "post_id": [f"p{i}" for i in range(len(rows))],
            "text": [text for _, text in rows],
        }
    )


def words(count: int, swap: dict[int, str] | None = None) -> str:
    """The first `count` WORDS, with the words at the given positions replaced."""
    chosen = list(WORDS[:count])
    for position, word in (swap or {}).items():
        chosen[position] = word
    return " ".join(chosen)


def jaccard(left: str, right: str, size: int = 3) -> float:
    """Exact Jaccard of two texts' word shingles, the slow obvious way."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        tokens = text.split()
        return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}

    a, b = shingles(left), shingles(right)
    return len(a & b) / len(a | b)


def ids_of(posts: pd.DataFrame, template_settings: TemplateSettings | None = None) -> list:
    """find_templates as a plain list, <NA> as None (so == never raises)."""
    ids = find_templates(posts, template_settings or TemplateSettings())
    return [None if pd.isna(value) else value for value in ids]


def templated(posts: pd.DataFrame, ids: pd.Series | None = None) -> set[str]:
    """post_ids of the posts that are in a template."""
    ids = find_templates(posts) if ids is None else ids
    return set(posts.loc[ids.notna().to_numpy(), "post_id"])


# --- edge cases -------------------------------------------------------------------------


def test_empty_frame_gives_empty_results() -> None:
    posts = frame()
    ids = find_templates(posts)
    assert ids.empty and str(ids.dtype) == "string"
    top = top_templates(posts, ids)
    assert top.empty
    assert list(top.columns) == ["brand", "template_id", "posts", "share", "normalised", "examples"]
    assert templated_ratio(posts, ids).empty


def test_missing_column_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="missing: text"):
        find_templates(pd.DataFrame({"brand": ["A"], "post_id": ["1"]}))


def test_two_identical_posts_are_not_a_template() -> None:
    posts = frame(("A", "Thanks for reaching out!"), ("A", "Thanks for reaching out!"))
    assert find_templates(posts).isna().all()


def test_three_identical_posts_are_a_template() -> None:
    posts = frame(*[("A", "Thanks for reaching out!")] * 3, ("A", "Something else entirely"))
    assert ids_of(posts) == ["A#1", "A#1", "A#1", None]


def test_short_posts_differing_only_in_fills_are_a_template() -> None:
    posts = frame(
        ("A", "@123 Order #A12345 shipped! ^JL"),
        ("A", "@98765 @4321 order 01234567 shipped. -Becky"),
        ("A", "@55 ORDER B777 shipped!!! *JS"),
        ("A", "@66 Order 42 delayed /CG"),
    )
    normalised = normalise_text(posts["text"])
    assert normalised[0] == normalised[1] == normalised[2] == "_user_ order _num_ shipped _sig_"
    assert templated(posts) == {"p0", "p1", "p2"}


def test_short_post_needs_identical_text_even_at_high_jaccard() -> None:
    long_text = words(6)
    short_text = words(5)
    assert jaccard(long_text, short_text) >= 0.7
    posts = frame(("A", long_text), ("A", long_text), ("A", short_text))
    assert find_templates(posts).isna().all()


def test_long_posts_differing_in_one_word_are_a_template() -> None:
    texts = [words(25, {12: word}) for word in ("one", "two", "three")]
    assert min(jaccard(a, b) for a, b in itertools.combinations(texts, 2)) >= 0.7
    posts = frame(*[("A", text) for text in texts])
    assert ids_of(posts) == ["A#1"] * 3


def test_jaccard_exactly_at_the_threshold_is_a_near_duplicate() -> None:
    # 19 words = 17 shingles; a middle word swapped changes 3: 14 / 20 = 0.7 exactly.
    texts = [words(19, {9: word}) for word in ("one", "two", "three")]
    assert all(jaccard(a, b) == 0.7 for a, b in itertools.combinations(texts, 2))
    assert find_templates(frame(*[("A", text) for text in texts])).notna().all()


def test_posts_just_under_the_threshold_are_not_a_template() -> None:
    # 18 words = 16 shingles; a middle word swapped: 13 / 19 = 0.684.
    texts = [words(18, {9: word}) for word in ("one", "two", "three")]
    assert all(0.68 < jaccard(a, b) < 0.7 for a, b in itertools.combinations(texts, 2))
    assert find_templates(frame(*[("A", text) for text in texts])).isna().all()


def test_a_higher_threshold_setting_is_honoured() -> None:
    texts = [words(25, {12: word}) for word in ("one", "two", "three")]
    strict = TemplateSettings(jaccard_threshold=0.9)
    assert find_templates(frame(*[("A", text) for text in texts]), strict).isna().all()


def test_groups_are_connected_components() -> None:
    first = words(19)
    second = words(19, {9: "one"})
    third = words(19, {9: "one", 3: "two"})
    assert jaccard(first, second) >= 0.7 and jaccard(second, third) >= 0.7
    assert jaccard(first, third) < 0.7
    posts = frame(("A", first), ("A", second), ("A", third))
    assert ids_of(posts) == ["A#1"] * 3


def test_same_text_by_two_brands_twice_each_is_not_a_template() -> None:
    text = "We have sent you a DM with the details"
    posts = frame(("A", text), ("B", text), ("A", text), ("B", text))
    assert find_templates(posts).isna().all()


def test_near_duplicates_of_two_brands_never_merge() -> None:
    first, second = words(25), words(25, {12: "one"})
    posts = frame(("A", first), ("A", second), ("B", first), ("B", second))
    assert ids_of(posts) == [None] * 4
    assert ids_of(pd.concat([posts, frame(("A", first))], ignore_index=True)) == [
        "A#1",
        "A#1",
        None,
        None,
        "A#1",
    ]


def test_hundreds_of_variants_of_a_template_form_one_group() -> None:
    # Variants differ from each other at two places (Jaccard 0.59) and from the template,
    # the most posted text, at one (0.77): they are one group through the template.
    rng = np.random.default_rng(3)
    base = words(26)
    variants = [
        words(26, {int(rng.integers(5, 21)): f"{WORDS[i % 26]}{WORDS[(i // 26) % 26]}x"})
        for i in range(300)
    ]
    posts = frame(*[("A", text) for text in [base] * 5 + variants])
    assert ids_of(posts) == ["A#1"] * 305


def test_later_anchors_are_checked_when_the_first_fails() -> None:
    # One LSH bucket, in rank order: a dissimilar text first, then two near-duplicates.
    shingles = sparse.csr_matrix(
        np.array([[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1]])
    )
    band = (np.array([0, 1, 2]), np.array([0, 1, 2]))
    agree_everywhere = _byte_sketches(np.zeros((3, _BANDS * _ROWS), dtype=np.uint32))
    edges = _verify_buckets([band], shingles, agree_everywhere, 0.7)
    assert edges.tolist() == [[1, 2]]


def test_equal_bytes_counts_minhash_values_that_share_their_low_byte() -> None:
    rng = np.random.default_rng(5)
    signatures = rng.integers(0, 2**32, size=(3, _BANDS * _ROWS), dtype=np.uint32)
    signatures[1] = signatures[0]
    signatures[1, :30] ^= np.uint32(0x01)  # 30 values differ in the low byte
    signatures[1, 30:40] ^= np.uint32(0x100)  # 10 differ above it: still "agree"
    signatures[2, :] = signatures[0] ^ np.uint32(0x80)
    sketches = _byte_sketches(signatures)
    counts = [equal_bytes(sketches, i, j) for i, j in ((0, 1), (0, 2), (1, 1))]
    assert counts == [_BANDS * _ROWS - 30, 0, _BANDS * _ROWS]


def test_equal_bytes_of_random_sketches_match_a_direct_count() -> None:
    # Random bytes from a small alphabet: many equal, in every position of a word.
    rng = np.random.default_rng(6)
    signatures = rng.integers(0, 4, size=(500, _BANDS * _ROWS), dtype=np.uint32)
    sketches = _byte_sketches(signatures)
    pairs = rng.integers(0, 500, size=(5_000, 2))
    expected = (signatures[pairs[:, 0]] == signatures[pairs[:, 1]]).sum(axis=1)
    assert [equal_bytes(sketches, i, j) for i, j in pairs] == expected.tolist()


def random_shingle_sets(seed: int, rows: int = 300) -> sparse.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.random((rows, 60)) < rng.uniform(0.05, 0.6, size=(rows, 1))
    dense[:, 0] |= ~dense.any(axis=1)  # every text has at least one shingle
    return sparse.csr_matrix(dense.astype(np.int32))


def test_minhash_is_the_minimum_of_each_permutation_over_the_row() -> None:
    # The compiled loop must give what the definition gives, value for value.
    shingles = random_shingle_sets(1)
    hashes = np.random.default_rng(2).integers(0, 2**63, size=60, dtype=np.uint64)
    signatures = _minhash(shingles, hashes)
    rng = np.random.default_rng(20_171_031)  # the detector's seed, drawn in its order
    count = _BANDS * _ROWS
    a = rng.integers(0, 2**31, size=count, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.integers(0, 2**32, size=count, dtype=np.uint32)
    top = (hashes >> np.uint64(32)).astype(np.uint64)
    for row in range(shingles.shape[0]):
        values = top[shingles.indices[shingles.indptr[row] : shingles.indptr[row + 1]]]
        permuted = (values[:, None] * a.astype(np.uint64) + b.astype(np.uint64)) % 2**32
        assert signatures[row].tolist() == permuted.min(axis=0).tolist()


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7, 0.75, 0.8, 1.0])
def test_similar_enough_is_the_jaccard_test_to_the_last_bit(threshold: float) -> None:
    # Random sets, and sets right at the threshold: 7 shared of 10 is Jaccard 0.7 exactly.
    edge = sparse.csr_matrix(
        (np.ones(17, dtype=bool), (np.repeat([0, 1], [8, 9]), np.r_[0:8, 1:10])), shape=(2, 10)
    )
    for matrix in (random_shingle_sets(3), edge):
        rows = matrix.shape[0]
        sets = [
            set(matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]].tolist())
            for r in range(rows)
        ]
        pairs = np.random.default_rng(4).integers(0, rows, size=(2000, 2))
        found = [similar_enough(matrix.indptr, matrix.indices, i, j, threshold) for i, j in pairs]
        shared = [len(sets[i] & sets[j]) for i, j in pairs]
        sizes = [len(sets[i]) + len(sets[j]) for i, j in pairs]
        assert found == [s / (n - s) >= threshold for s, n in zip(shared, sizes, strict=True)]
    at_edge = [similar_enough(edge.indptr, edge.indices, 0, 1, t) for t in (0.7, 0.7000001)]
    assert at_edge == [True, False]


@given(
    st.lists(
        st.lists(
            st.sampled_from(
                ["a", "hello", "_num_", "don't", "naïve", "12345678", "x" * 17, "y" * 130, ""]
            ),
            min_size=3,
            max_size=12,
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(min_value=1, max_value=3),
)
@settings(max_examples=150, deadline=None)
def test_shingle_hashes_are_pandas_word_hashes_weighted_salted_and_mixed(
    texts: list[list[str]], width: int
) -> None:
    # The compiled pass must give what hashing the words with pandas gives: the same
    # hashes keep the same MinHash signatures, so the same templates.
    joined = [" ".join(words) for words in texts]
    array = pa.array(["unused", *joined, "unused too"]).slice(1, len(joined))
    rows = np.arange(len(joined))[::-1].copy()
    salt = np.random.default_rng(width).integers(0, 2**63, len(joined), dtype=np.uint64)
    words = np.array([len(w) for w in texts])[rows]
    hashes, counts = _shingle_hashes(array, rows, words, width, salt[rows])

    weights = np.random.default_rng(20_171_031).integers(1, 2**62, width, dtype=np.uint64)
    weights = weights * np.uint64(2) + np.uint64(1)
    expected = []
    for text_salt, row in zip(salt[rows], rows, strict=True):
        word_hash = pd.util.hash_array(np.array(texts[row], dtype=object), categorize=False)
        for start in range(len(word_hash) - width + 1):
            with np.errstate(over="ignore"):
                total = text_salt + (word_hash[start : start + width] * weights).sum()
            expected.append(total)
    assert counts.tolist() == (words - width + 1).tolist()
    assert hashes.tolist() == _mix(np.array(expected, dtype=np.uint64)).tolist()


def test_lsh_buckets_group_equal_bands_in_first_row_then_rank_order() -> None:
    # Few distinct values per band, so buckets of every size; a random rank order.
    rng = np.random.default_rng(11)
    count = 3000
    signatures = rng.integers(0, 3, size=(count, _BANDS * _ROWS), dtype=np.uint32)
    signatures[rng.random(count) < 0.3] = rng.integers(0, 2**32, _BANDS * _ROWS, dtype=np.uint32)
    rank = rng.permutation(count)
    bands = _lsh_buckets(signatures, rank)
    assert len(bands) == _BANDS
    for band, (rows, position) in enumerate(bands):
        values = signatures[:, band * _ROWS : (band + 1) * _ROWS]
        groups: dict[tuple, list[int]] = {}
        for row in range(count):
            groups.setdefault(tuple(values[row].tolist()), []).append(row)
        # Buckets in the order of their first row; members by rank; singletons left out.
        expected = [sorted(g, key=lambda r: rank[r]) for g in groups.values() if len(g) >= 2]
        assert rows.tolist() == [row for bucket in expected for row in bucket]
        assert position.tolist() == [p for bucket in expected for p in range(len(bucket))]


def reference_components(
    bands: list, shingles: sparse.csr_matrix, signatures: np.ndarray, threshold: float
) -> np.ndarray:
    """Components linking every bucket row to each of its bucket's first _ANCHORS rows
    when the pair passes both checks, pair by pair in Python (no skipping)."""
    sets = [
        set(shingles.indices[shingles.indptr[r] : shingles.indptr[r + 1]])
        for r in range(shingles.shape[0])
    ]
    low = signatures & 0xFF
    edges = []
    for rows, position in bands:
        for at in range(len(rows)):
            for anchor in range(min(position[at], _ANCHORS)):
                i, j = int(rows[at]), int(rows[at - position[at] + anchor])
                agree = int((low[i] == low[j]).sum())
                jaccard = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
                if agree >= _MIN_AGREEMENT * _BANDS * _ROWS and jaccard >= threshold:
                    edges.append((i, j))
    return components_of(edges, shingles.shape[0])


def components_of(edges: list | np.ndarray, count: int) -> np.ndarray:
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    graph = sparse.coo_matrix(
        (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(count, count)
    )
    return connected_components(graph, directed=False)[1]


def test_bucket_search_finds_the_components_of_checking_every_anchor_pair() -> None:
    # Families of near-duplicate shingle sets among random ones, random buckets of 2 to
    # 30 rows (bigger than _ANCHORS + 1, so some rows meet only anchors), and sketches
    # that agree on a random share of values: the search skips pairs already linked,
    # yet must end with the components of checking every anchor pair.
    rng = np.random.default_rng(8)
    count, columns = 400, 90
    dense = rng.random((count, columns)) < 0.15
    signatures = rng.integers(0, 2**32, size=(count, _BANDS * _ROWS), dtype=np.uint32)
    for _family in range(8):
        base = rng.random(columns) < 0.3
        base_signature = rng.integers(0, 2**32, size=_BANDS * _ROWS, dtype=np.uint32)
        for row in rng.choice(count, size=25, replace=False):
            dense[row] = base ^ (rng.random(columns) < 0.04)
            # Members share most, not all, MinHash values: some pairs fail the sketch test.
            copied = rng.random(_BANDS * _ROWS) < rng.uniform(0.5, 0.95)
            signatures[row, copied] = base_signature[copied]
    dense[:, 0] |= ~dense.any(axis=1)
    shingles = sparse.csr_matrix(dense.astype(np.int32))
    bands = []
    for _ in range(_BANDS):
        order = rng.permutation(count)
        sizes = rng.integers(2, 31, size=count)
        ends = np.cumsum(sizes)
        sizes = sizes[ends <= count]
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        rows = order[: sizes.sum()].astype(np.int32)
        first = np.repeat(starts, sizes).astype(np.int32)
        bands.append((rows, (np.arange(len(rows)) - first).astype(np.int32)))

    edges = _verify_buckets(bands, shingles, _byte_sketches(signatures), 0.7)

    expected = reference_components(bands, shingles, signatures, 0.7)
    found = components_of(edges, count)
    assert len(set(expected.tolist())) < count - 20  # the data has something to find
    # Same partition: each found component is exactly one expected component.
    assert len(set(zip(found.tolist(), expected.tolist(), strict=True))) == len(set(expected))
    assert len(set(found.tolist())) == len(set(expected.tolist()))
    # Every returned pair joined two components: a forest, one edge fewer than its rows.
    assert len(edges) == count - len(set(found.tolist()))
    assert (edges[:, 0] < edges[:, 1]).all()


def test_pairs_of_high_row_numbers_are_found_in_int32_buckets() -> None:
    # Buckets store rows as int32; a pair key row * (rows + 1) + row passes 2**31 from
    # ~46k texts, so the key must be computed in int64 (on 1.3M generated brand posts the
    # overflow dropped 15% of the templated posts).
    count = 60_001
    dense_rows = np.repeat([count - 2, count - 1], 3)
    shingles = sparse.csr_matrix(
        (np.ones(6, dtype=np.int32), (dense_rows, np.tile([0, 1, 2], 2))), shape=(count, 4)
    )
    band = (
        np.array([count - 2, count - 1], dtype=np.int32),
        np.array([0, 1], dtype=np.int32),
    )
    sketches = _byte_sketches(np.zeros((count, _BANDS * _ROWS), dtype=np.uint32))
    edges = _verify_buckets([band], shingles, sketches, 0.7)
    assert edges.tolist() == [[count - 2, count - 1]]


def test_candidates_that_disagree_on_most_minhash_values_are_never_checked() -> None:
    # Two identical shingle sets whose sketches disagree everywhere: the pre-filter drops
    # the pair, which shows the exact check only runs on likely pairs.
    shingles = sparse.csr_matrix(np.array([[1, 1, 1, 0], [1, 1, 1, 0]]))
    band = (np.array([0, 1]), np.array([0, 1]))
    signatures = np.zeros((2, _BANDS * _ROWS), dtype=np.uint32)
    signatures[1] = 1
    assert _verify_buckets([band], shingles, _byte_sketches(signatures), 0.7).size == 0


def test_min_group_size_setting_is_honoured() -> None:
    posts = frame(("A", "Hello there"), ("A", "Hello there"))
    assert ids_of(posts, TemplateSettings(min_group_size=2)) == ["A#1", "A#1"]


def test_templates_are_numbered_by_size_then_text() -> None:
    posts = frame(
        *[("A", "zebra reply")] * 3,
        *[("A", "apple reply")] * 3,
        *[("A", "middle reply")] * 4,
        *[("B", "zebra reply")] * 3,
    )
    ids = find_templates(posts)
    by_text = dict(zip(posts["brand"] + "|" + posts["text"], ids, strict=True))
    assert by_text["A|middle reply"] == "A#1"
    assert by_text["A|apple reply"] == "A#2"
    assert by_text["A|zebra reply"] == "A#3"
    assert by_text["B|zebra reply"] == "B#1"


def test_result_is_aligned_on_any_index() -> None:
    posts = frame(*[("A", "Same words here")] * 3, ("A", "Other"))
    posts.index = [40, 10, 30, 20]
    ids = find_templates(posts)
    assert list(ids.index) == [40, 10, 30, 20]
    assert ids.loc[20] is pd.NA and ids.loc[10] == "A#1"


def test_posts_without_brand_or_text_are_never_templated() -> None:
    posts = frame(*[("A", "Hi")] * 3)
    posts.loc[3] = [None, "p3", "Hi"]
    posts.loc[4] = ["A", "p4", None]
    posts.loc[5] = ["A", "p5", "!!!"]
    assert ids_of(posts) == ["A#1"] * 3 + [None] * 3


@pytest.mark.parametrize(
    "bad",
    [
        {"min_group_size": 0},
        {"jaccard_threshold": 0.0},
        {"jaccard_threshold": 1.5},
        {"shingle_words": 0},
        {"short_post_words": -1},
    ],
)
def test_meaningless_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        TemplateSettings(**bad)  # type: ignore[arg-type]


# --- normalisation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See https://t.co/AbC123 now", "see _url_ now"),
        ("Visit www.example.com/help, thanks", "visit _url_ thanks"),
        ("Mail help@brand.co.uk today", "mail _email_ today"),
        ("@123 @456  hi @789", "_user_ hi _user_"),
        ("Call 1-800-769-2555 or +44 20 7946 0958", "call _num_ or _num_"),
        ("Ticket #A12345 and case 01234567", "ticket _num_ and case _num_"),
        ("Booking JKPY2T:: confirmed", "booking _num_ confirmed"),
        ("Costs $5.99, 2x", "costs _num_ _num_"),
        ("Glad to help! ^AB", "glad to help _sig_"),
        ("Glad to help! -Becky", "glad to help _sig_"),
        ("Glad to help *JS", "glad to help _sig_"),
        ("Glad to help /CG https://t.co/x", "glad to help _sig_"),
        ("Glad to help - Becky", "glad to help _sig_"),
        ("Love it 👏👏👏-Rad", "love it _emoji_ _sig_"),
        ("We ❤️ you 😊 😊", "we _emoji_ you _emoji_"),
        ("Wait... what?!?! (really)", "wait what really"),
        ("We’ll look ‘into’ it", "we'll look into it"),
        ("Don't  'quote' me", "don't quote me"),
        ("Fish &amp; chips &gt;&gt;", "fish chips"),
        ("  Tabs\tand\nnew\r\nlines  ", "tabs and new lines"),
        ("Hola, ¿cómo está el teléfono?", "hola cómo está el teléfono"),
        ("Use Wi-Fi at home", "use wi fi at home"),
        ("", ""),
    ],
)
def test_normalise_text(text: str, expected: str) -> None:
    assert normalise_text(pd.Series([text]))[0] == expected


def test_signoff_is_case_sensitive_and_only_at_the_end() -> None:
    texts = pd.Series(["thanks -becky", "-Becky will call you", "Thanks -Becky"])
    assert normalise_text(texts).tolist() == ["thanks becky", "becky will call you", "thanks _sig_"]


def test_normalise_keeps_index_and_missing_values() -> None:
    texts = pd.Series(["A b", None], index=[7, 3], dtype=object)
    out = normalise_text(texts)
    assert list(out.index) == [7, 3] and out[7] == "a b" and out[3] is pd.NA


def test_text_in_several_arrow_chunks_is_normalised_like_one_chunk() -> None:
    # Arrow-backed text read from parquet or DuckDB often comes in several chunks; the
    # two-thread split of big inputs once failed on them.
    pieces = [pa.array(["Hi @ann, order #123 is here", "Sorry 😞"] * 30_000) for _ in range(2)]
    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(pieces)))
    single = pd.Series(pd.arrays.ArrowStringArray(pa.concat_arrays(pieces)))
    assert len(chunked.array._pa_array.chunks) == 2
    assert normalise_text(chunked).equals(normalise_text(single))


# --- top templates and ratio --------------------------------------------------------------


def test_top_templates_counts_share_representative_and_examples() -> None:
    posts = frame(
        ("A", "@1 Your order 11 shipped today"),
        ("A", "@2 Your order 22 shipped today"),
        ("A", "@3 Your order 33 shipped today!"),
        ("A", "@2 Your order 22 shipped today"),
        ("A", "Hi there"),
        ("A", "Hi there"),
        ("A", "Hi there"),
        ("A", "A one-off reply"),
        ("B", "Same for B"),
        ("B", "Same for B"),
        ("B", "Same for B"),
    )
    ids = find_templates(posts)
    top = top_templates(posts, ids, n=10, examples=2)
    assert top[["brand", "template_id", "posts"]].values.tolist() == [
        ["A", "A#1", 4],
        ["A", "A#2", 3],
        ["B", "B#1", 3],
    ]
    assert top["share"].tolist() == pytest.approx([4 / 8, 3 / 8, 1.0])
    assert top.loc[0, "normalised"] == "_user_ your order _num_ shipped today"
    assert top.loc[0, "examples"] == [
        "@1 Your order 11 shipped today",
        "@2 Your order 22 shipped today",
    ]
    assert top.loc[1, "examples"] == ["Hi there"]


def test_top_templates_order_examples_by_numeric_post_id_and_break_ties() -> None:
    # Ids sort as numbers ("9" before "10"); one id on two platforms: the text decides.
    # Two normalised variants of one template, posted twice each: the smaller is shown.
    first, second = words(26), words(26, {12: "quokka"})
    posts = pd.DataFrame(
        {
            "brand": ["A"] * 4,
            "post_id": ["10", "9", "9", "11"],
            "text": [first, second + "!", second, first],
        }
    )
    top = top_templates(posts, find_templates(posts), examples=3)
    assert top["posts"].tolist() == [4]
    assert top.loc[0, "examples"] == [second, second + "!", first]
    assert top.loc[0, "normalised"] == min(first, second)


@pytest.mark.parametrize("counts", [(2, 2), (2, 3), (3, 2), (1, 4)])
def test_the_search_gives_top_templates_the_text_it_would_find(counts: tuple[int, int]) -> None:
    # Two normalised variants of one template, and a template of another brand: the
    # search's most frequent text (ties: the smaller) is the one top_templates finds.
    first, second = words(26), words(26, {12: "quokka"})
    texts = [first] * counts[0] + [second + "!"] * counts[1] + ["Same for B"] * 3
    posts = pd.DataFrame(
        {
            "brand": ["A"] * sum(counts) + ["B"] * 3,
            "post_id": [str(i) for i in range(len(texts))],
            "text": texts,
        }
    )
    search = search_templates(posts)
    assert search.ids.equals(find_templates(posts))
    shown = top_templates(posts, search.ids, normalised=search.normalised)
    pd.testing.assert_frame_equal(shown, top_templates(posts, search.ids))
    expected = normalise_text(pd.Series([first if counts[0] >= counts[1] else second]))[0]
    if counts[0] == counts[1]:
        expected = min(normalise_text(pd.Series([first, second])))
    assert shown.loc[shown["brand"] == "A", "normalised"].tolist() == [expected]


def test_top_templates_keeps_n_per_brand() -> None:
    rows = [("A", f"reply {name}") for name in ("x", "y", "z") for _ in range(3)]
    rows += [("B", "only one") for _ in range(3)]
    posts = frame(*rows)
    top = top_templates(posts, find_templates(posts), n=2)
    assert top.groupby("brand").size().to_dict() == {"A": 2, "B": 1}


def test_templated_ratio_per_brand() -> None:
    posts = frame(*[("A", "Same")] * 3, ("A", "Other"), ("B", "Lonely"))
    ratio = templated_ratio(posts, find_templates(posts))
    assert ratio.to_dict() == {"A": 0.75, "B": 0.0}


# --- properties -----------------------------------------------------------------------------

TEMPLATE_BODIES = (
    "Please DM us your order number and the email address on the order so we can help",
    "Sorry for the wait. Please call us so our team can look into it for you today",
    "Thanks",
    "We have sent you a DM",
)
FREE_WORDS = ("help", "order", "sorry", "store", "app", "thanks", "again", "time", "phone")


@st.composite
def brand_posts(draw: st.DrawFn, brands: tuple[str, ...] = ("A", "B", "C")) -> pd.DataFrame:
    """Posts mixing templated replies with fills (handles, numbers, sign-offs) and free text."""
    count = draw(st.integers(min_value=0, max_value=40))
    rows = []
    for i in range(count):
        brand = draw(st.sampled_from(brands))
        if draw(st.booleans()):
            body = draw(st.sampled_from(TEMPLATE_BODIES))
            handle = draw(st.integers(min_value=1, max_value=999_999))
            number = draw(st.integers(min_value=0, max_value=10**8))
            sign = draw(st.sampled_from(["", " ^AB", " -Becky", " /CG"]))
            text = f"@{handle} {body} {number}{sign}"
        else:
            text = " ".join(draw(st.lists(st.sampled_from(FREE_WORDS), min_size=1, max_size=12)))
        rows.append({"brand": brand, "post_id": f"{brand}{i}", "text": text})
    return pd.DataFrame(rows, columns=["brand", "post_id", "text"])


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(brand_posts())
def test_ratio_is_a_fraction(posts: pd.DataFrame) -> None:
    ratio = templated_ratio(posts, find_templates(posts))
    assert ((ratio >= 0.0) & (ratio <= 1.0)).all()
    assert set(ratio.index) == set(posts["brand"])


@PROPERTY
@given(brand_posts(), st.data())
def test_row_order_does_not_matter(posts: pd.DataFrame, data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(posts))))
    shuffled = posts.iloc[list(order)].reset_index(drop=True)
    before = dict(zip(posts["post_id"], find_templates(posts), strict=True))
    after = dict(zip(shuffled["post_id"], find_templates(shuffled), strict=True))
    assert before == after


@PROPERTY
@given(brand_posts(brands=("A", "B")), brand_posts(brands=("C",)))
def test_other_brands_never_change_a_brands_templates(
    posts: pd.DataFrame, others: pd.DataFrame
) -> None:
    alone = dict(zip(posts["post_id"], find_templates(posts), strict=True))
    combined = pd.concat([others, posts], ignore_index=True)
    together = dict(zip(combined["post_id"], find_templates(combined), strict=True))
    assert {post: together[post] for post in alone} == alone


@PROPERTY
@given(brand_posts())
def test_every_template_has_enough_posts_of_one_brand(posts: pd.DataFrame) -> None:
    ids = find_templates(posts)
    groups = posts.assign(template=ids).dropna(subset=["template"]).groupby("template")
    for template, group in groups:
        assert len(group) >= 3
        assert group["brand"].nunique() == 1
        assert str(template).startswith(f"{group['brand'].iloc[0]}#")


# --- real data --------------------------------------------------------------------------------


def brute_force_templated(posts: pd.DataFrame, threshold: float = 0.7) -> set[str]:
    """The definition applied literally: every pair of distinct texts compared."""
    normalised = normalise_text(posts["text"])
    counts = normalised.value_counts()
    texts = [text for text in counts.index if text]
    shingles = {}
    for text in texts:
        tokens = text.split(" ")
        if len(tokens) >= 6:
            shingles[text] = {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}
    parent = {text: text for text in texts}

    def root(text: str) -> str:
        while parent[text] != text:
            parent[text] = parent[parent[text]]
            text = parent[text]
        return text

    long_texts = list(shingles)
    for i, left in enumerate(long_texts):
        a = shingles[left]
        for right in long_texts[i + 1 :]:
            b = shingles[right]
            shared = len(a & b)
            if shared and shared / (len(a) + len(b) - shared) >= threshold:
                parent[root(left)] = root(right)
    size: dict[str, int] = {}
    for text in texts:
        size[root(text)] = size.get(root(text), 0) + int(counts[text])
    keep = {text for text in texts if size[root(text)] >= 3}
    return set(posts.loc[normalised.isin(keep).to_numpy(), "post_id"])


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["NikeSupport.csv", "Walmart.csv"])
def test_matches_brute_force_on_real_brand_replies(name: str) -> None:
    path = twcs_file(f"brand_replies/{name}")
    raw = pd.read_csv(
        path, dtype=str, keep_default_na=False, lineterminator="\n", encoding="utf-8-sig"
    )
    posts = pd.DataFrame(
        {"brand": raw["author_id"], "post_id": raw["tweet_id"], "text": raw["text"]}
    )
    found = templated(posts)
    expected = brute_force_templated(posts)
    assert found == expected
