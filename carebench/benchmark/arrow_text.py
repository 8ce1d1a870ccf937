"""Small pyarrow string helpers shared by the text passes (templates, signals, anonymise)
and the readers of the persisted analysis."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_strings(dtype: pa.DataType) -> object:
    """A `to_pandas` types_mapper: Arrow strings stay Arrow-backed pandas strings."""
    if dtype in (pa.string(), pa.large_string()):
        return pd.StringDtype("pyarrow")
    return None


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a DataFrame whose strings stay Arrow-backed (`arrow_strings`)."""
    return table.to_pandas(types_mapper=arrow_strings)


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


def string_buffers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (one more than rows) and the bytes of an Arrow string array, no copy.

    For compiled loops over the texts: row i is data[offsets[i]:offsets[i + 1]] (a null
    row is empty). Works for string and large_string arrays, slices included.
    """
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=width)[
        array.offset : array.offset + len(array) + 1
    ]
    if data_buffer is None:
        return offsets, np.empty(0, dtype=np.uint8)
    return offsets, np.frombuffer(data_buffer, dtype=np.uint8)


def new_buffer(count: int, dtype: type[np.generic]) -> tuple[pa.Buffer, np.ndarray]:
    """A buffer of `count` values from Arrow's memory pool, and a writable numpy view of it.

    For the outputs of compiled loops: Arrow's pool keeps freed memory for the next
    chunk, where fresh pages from the system (numpy's large arrays) cost as much as the
    loop itself on some machines.
    """
    buffer = pa.allocate_buffer(count * np.dtype(dtype).itemsize)
    return buffer, np.frombuffer(buffer, dtype=dtype)
