"""Small pyarrow string helpers shared by the text passes (templates, signals, anonymise)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def as_arrow(text: pd.Series) -> pa.Array:
    """An Arrow-backed string Series as one pyarrow array (chunks combined)."""
    array = pa.array(text.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def replace_where(array: pa.Array, rows: pa.Array, pattern: str, replacement: str) -> pa.Array:
    """Apply a regex replacement to the selected rows only.

    For a pattern few rows can match, found first with a fast test (a literal, an ASCII
    check): running the regex over every text costs far more than filtering.
    """
    rows = pc.fill_null(rows, False)
    if not pc.any(rows).as_py():
        return array
    subset = pc.replace_substring_regex(
        pc.filter(array, rows), pattern=pattern, replacement=replacement
    )
    return pc.replace_with_mask(array, rows, subset)
