"""Small pyarrow string helpers shared by the text passes (templates, signals, anonymise)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def as_arrow(text: pd.Series) -> pa.Array:
    """An Arrow-backed string Series as one pyarrow array (chunks combined).

    A single chunk is used as it is: combining would copy every text.
    """
    array = pa.array(text.array)
    if not isinstance(array, pa.ChunkedArray):
        return array
    return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()


def rewrite_where(
    array: pa.Array, rows: pa.Array, rewrite: Callable[[pa.Array], pa.Array]
) -> pa.Array:
    """`rewrite` applied to the selected rows only (the others are left as they are).

    For a rewrite few rows need, found first with a fast test (a literal, an ASCII
    check): running it over every text costs far more than filtering.
    """
    rows = pc.fill_null(rows, False)
    if not pc.any(rows).as_py():
        return array
    return pc.replace_with_mask(array, rows, rewrite(pc.filter(array, rows)))


def replace_where(array: pa.Array, rows: pa.Array, pattern: str, replacement: str) -> pa.Array:
    """A regex replacement applied to the selected rows only (see `rewrite_where`)."""
    return rewrite_where(
        array,
        rows,
        lambda subset: pc.replace_substring_regex(subset, pattern=pattern, replacement=replacement),
    )
