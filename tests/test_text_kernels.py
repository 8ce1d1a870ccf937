"""The compiled punctuation folding returns exactly what the RE2 pass returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carebench.benchmark.templates import _PUNCTUATION_RUN
from carebench.benchmark.text_kernels import byte_counts, fold_punctuation, needs_fold
from tests.conftest import twcs_file

# Word bytes, the apostrophe, the space, punctuation, whitespace the pattern folds, the
# entity bytes (`&`, `;`, `#`) and non-ASCII letters / emoji, which take the RE2 path.
ALPHABET = ["a", "b", "Z", "0", "_", "'", " ", "-", ".", ",", "!", "?", "\t", "\n"]
ALPHABET_ALL = [*ALPHABET, "&", ";", "#", "é", "😀"]


def reference(array: pa.Array) -> pa.Array:
    """The two lines of `templates._normalise_chunk` that `fold_punctuation` replaces."""
    folded = pc.replace_substring_regex(array, pattern=_PUNCTUATION_RUN, replacement=" ")
    return pc.utf8_trim(folded, characters=" ")


def assert_same(array: pa.Array) -> None:
    """`fold_punctuation` equals the RE2 reference: values, nulls and type."""
    got = fold_punctuation(array)
    expected = reference(array)
    assert got.type == expected.type == array.type
    assert got.to_pylist() == expected.to_pylist()
    assert got.equals(expected)
    got.validate(full=True)


def texts(alphabet: list[str]) -> st.SearchStrategy[list[str | None]]:
    """Lists of short texts over `alphabet`, with empty strings and nulls."""
    text = st.text(alphabet=st.sampled_from(alphabet), min_size=0, max_size=12)
    return st.lists(st.one_of(st.none(), text), min_size=0, max_size=20)


def string_array(rows: list[str | None], large: bool, start: int = 0) -> pa.Array:
    """The rows as a string (or large_string) array, sliced from `start`."""
    return pa.array(rows, pa.large_string() if large else pa.string()).slice(start)


@settings(max_examples=500, deadline=None)
@given(texts(ALPHABET_ALL), st.booleans())
def test_fold_punctuation_matches_re2(rows: list[str | None], large: bool) -> None:
    assert_same(string_array(rows, large))


@settings(max_examples=500, deadline=None)
@given(texts(ALPHABET))
def test_fold_punctuation_matches_re2_on_kernel_rows(rows: list[str | None]) -> None:
    # Every non-null row takes the compiled path.
    assert_same(pa.array(rows, type=pa.string()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("don't", "don't"),
        ("'quoted'", "quoted"),
        ("dogs' toys", "dogs toys"),
        ("a''b", "a''b"),
        ("x'-'y", "x 'y"),
        ("a' 'b", "a 'b"),
        ("hi , there", "hi there"),
        ("&amp; ok", "ok"),
        ("  lead and trail  ", "lead and trail"),
        ("", ""),
        ("''a", "a"),
        ("a'", "a"),
        ("a ' b", "a b"),
        ("a\tb\nc", "a b c"),
        ("a -'b", "a b"),
        ("wait...what?!", "wait what"),
    ],
)
def test_fold_punctuation_examples(text: str, expected: str) -> None:
    array = pa.array([text])
    assert fold_punctuation(array).to_pylist() == [expected]
    assert_same(array)


def test_fold_punctuation_of_a_slice_large_strings_and_nulls() -> None:
    rows = ["hi!!", "don't  stop", None, "&amp; é ok...", "'x'", ""]
    array = pa.array(rows)
    assert_same(array)
    assert_same(array.slice(1, 3))
    assert_same(array.slice(2, 4))
    assert_same(pa.array(rows, type=pa.large_string()))
    assert_same(pa.array(rows, type=pa.large_string()).slice(1, 3))
    assert fold_punctuation(array).to_pylist() == ["hi", "don't stop", None, "é ok", "x", ""]
    assert_same(pa.array([None, None], type=pa.string()))
    assert_same(pa.array([], type=pa.string()))
    assert_same(pa.array([], type=pa.large_string()))


def test_fold_punctuation_on_real_tweets() -> None:
    path = twcs_file("twcs_random_5k.csv")
    text = pd.read_csv(path, usecols=["text"], nrows=3000)["text"]
    array = pc.utf8_lower(pa.array(text, type=pa.string()))
    assert len(array) == 3000
    assert_same(array)


@settings(max_examples=300, deadline=None)
@given(texts(ALPHABET_ALL), st.booleans(), st.integers(0, 3))
def test_byte_counts_equal_arrow_count_substring(
    rows: list[str | None], large: bool, start: int
) -> None:
    # Any text (non-ASCII, nulls), both string types, and a slice that starts mid-buffer.
    array = string_array(rows, large, start)
    expected = pc.fill_null(pc.count_substring(array, " "), 0).to_numpy(zero_copy_only=False)
    assert byte_counts(array, ord(" ")).tolist() == expected.tolist()


def test_byte_counts_refuse_a_byte_that_is_not_ascii() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        byte_counts(pa.array(["é"]), 0xC3)


def test_byte_counts_give_zero_for_a_null_row_whose_offsets_span_bytes() -> None:
    # Arrow lets a null slot's offsets cover bytes; they are not the row's text.
    data = pa.py_buffer(b"a b c d")
    offsets = pa.py_buffer(np.array([0, 3, 7], dtype=np.int32).tobytes())
    validity = pa.py_buffer(np.packbits([True, False], bitorder="little").tobytes())
    array = pa.Array.from_buffers(pa.string(), 2, [validity, offsets, data], null_count=1)
    assert byte_counts(array, ord(" ")).tolist() == [1, 0]


FOLD_ALPHABET = ["a", "Z", "0", " ", "`", "&", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f"]
FOLD_ALPHABET += ["\x1b", "~", "'", "é", "’", "😀", "\u00a0"]
NEEDS_FOLD_REGEX = "[`&\\t\\n\\v\\f\\r\\x1c-\\x1f]|  |^ | $"


@settings(max_examples=500, deadline=None)
@given(texts(FOLD_ALPHABET), st.booleans(), st.integers(0, 3))
def test_needs_fold_equals_the_ascii_check_and_regex_it_replaces(
    rows: list[str | None], large: bool, start: int
) -> None:
    array = string_array(rows, large, start)
    expected = pc.or_(
        pc.invert(pc.string_is_ascii(array)), pc.match_substring_regex(array, NEEDS_FOLD_REGEX)
    )
    expected = pc.fill_null(expected, False).to_numpy(zero_copy_only=False)
    assert needs_fold(array).tolist() == expected.tolist()
