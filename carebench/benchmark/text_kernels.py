"""Compiled loops for the text normalisation passes (numba).

RE2 pays per match: the punctuation-folding pass of `templates._normalise_chunk` matches
nearly every punctuation mark of every text, so it is the slowest regex of the
normalisation (~0.45 s per 400k brand replies). `fold_punctuation` computes exactly what
that pass returns, byte for byte, reading each byte once in a compiled loop for the rows
that are ASCII with no `&` (where the HTML-entity alternative can never match), and
keeps RE2 for the few other rows. `cache=True` keeps the compiled code beside this file,
so only the first run on a machine pays the compile.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from carebench.benchmark.arrow_text import new_buffer, string_buffers

# Byte classes of the pattern on ASCII text without `&`: word bytes [A-Za-z0-9_] (never
# matched), the apostrophe, the plain space (0x20 only), and every other ASCII byte
# (punctuation, symbols, tab, newline, control bytes), which is a non-word byte like the
# space. A row with a byte >= 0x80 (Unicode letters, marks, emoji) or `&` (an HTML entity
# may start there) is refused: RE2 rewrites it.
_WORD = 0
_APOSTROPHE = 1
_SPACE = 2
_OTHER = 3
_REFUSED = 4


def _byte_classes() -> np.ndarray:
    """The class of each byte value for `fold_punctuation_rows`."""
    classes = np.full(256, _REFUSED, dtype=np.uint8)
    classes[:128] = _OTHER
    for byte in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_":
        classes[byte] = _WORD
    classes[ord("'")] = _APOSTROPHE
    classes[ord(" ")] = _SPACE
    classes[ord("&")] = _REFUSED
    return classes


_BYTE_CLASSES = _byte_classes()


@njit(cache=True, nogil=True)
def fold_punctuation_rows(
    offsets: np.ndarray,
    data: np.ndarray,
    classes: np.ndarray,
    valid: np.ndarray,
    out_offsets: np.ndarray,
    out_data: np.ndarray,
    refused: np.ndarray,
) -> None:
    """Fold the punctuation runs of Arrow string rows, then trim spaces at both ends.

    `offsets` holds len(valid) + 1 positions into `data` (the Arrow buffers, the array's
    offset already applied); `classes` is `_BYTE_CLASSES`. A null row (valid[row] False)
    is written empty; so is a row holding a byte of class `_REFUSED`, with refused[row]
    set (the caller rewrites it with RE2). `out_data` needs offsets[-1] - offsets[0]
    bytes: no row grows. Releases the GIL, so chunks can run in two threads.

    RE2 scans left to right, leftmost-first, without overlaps. From a non-word byte the
    alternatives of `_PUNCTUATION_RUN` see the run of non-word bytes and apostrophes
    starting there (up to a word byte or the end), and each match becomes one space:
    - a non-space non-word byte matches the whole run;
    - a space matches the whole run when the run goes on after it; a lone space is kept,
      so either way one space is written and the run is done;
    - an apostrophe matches to the end when the run reaches the end, else up to and
      including the run's last non-word byte if it has one (the apostrophes after it are
      kept: "x'-'y" -> "x 'y"), else, at the start of the text only, the leading
      apostrophes (`^'+`); otherwise it is kept ("don't").
    Spaces written before the first kept byte and after the last one are the trim.
    """
    space = np.uint8(32)
    pos = 0
    out_offsets[0] = 0
    for row in range(len(valid)):
        row_out = pos
        refused[row] = False
        if valid[row]:
            start = offsets[row]
            end = offsets[row + 1]
            at = start
            while at < end:
                byte = data[at]
                kind = classes[byte]
                if kind == _WORD:
                    out_data[pos] = byte
                    pos += 1
                    at += 1
                    continue
                if kind == _REFUSED:
                    refused[row] = True
                    break
                # The run of non-word bytes and apostrophes from here and its last non-word
                # byte (space or other). A refused byte ends it: the loop stops there later.
                run_end = at + 1
                last_non_word = at if kind != _APOSTROPHE else -1
                while run_end < end:
                    run_kind = classes[data[run_end]]
                    if run_kind in (_WORD, _REFUSED):
                        break
                    if run_kind != _APOSTROPHE:
                        last_non_word = run_end
                    run_end += 1
                if kind == _APOSTROPHE and run_end < end:
                    if last_non_word >= 0:
                        run_end = last_non_word + 1
                    elif at != start:
                        # Apostrophes between word bytes are kept.
                        while at < run_end:
                            out_data[pos] = data[at]
                            pos += 1
                            at += 1
                        continue
                if pos > row_out:
                    out_data[pos] = space
                    pos += 1
                at = run_end
            if refused[row]:
                pos = row_out
            while pos > row_out and out_data[pos - 1] == space:
                pos -= 1
        out_offsets[row + 1] = pos


def _reference_fold(array: pa.Array) -> pa.Array:
    """The RE2 pass this module replaces (templates' `_PUNCTUATION_RUN`, then the trim)."""
    # Imported here: templates imports this module.
    from carebench.benchmark.templates import _PUNCTUATION_RUN

    folded = pc.replace_substring_regex(array, pattern=_PUNCTUATION_RUN, replacement=" ")
    return pc.utf8_trim(folded, characters=" ")


def _fold_rows(array: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """`fold_punctuation_rows` on a string / large_string array, and its refused rows.

    The result has the input's type and nulls; refused rows are empty in it.
    """
    offsets, data = string_buffers(array)
    validity = None
    if array.null_count:
        valid = pc.is_valid(array).to_numpy(zero_copy_only=False)
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    else:
        valid = np.ones(len(array), dtype=np.bool_)
    # The output's offsets are as wide as the input's (string: int32, large_string: int64).
    offsets_out, out_offsets = new_buffer(len(array) + 1, offsets.dtype.type)
    data_out, out_data = new_buffer(int(offsets[-1] - offsets[0]), np.uint8)
    refused = np.empty(len(array), dtype=np.bool_)
    fold_punctuation_rows(offsets, data, _BYTE_CLASSES, valid, out_offsets, out_data, refused)
    used = int(out_offsets[-1])
    folded = pa.Array.from_buffers(
        array.type,
        len(array),
        [validity, offsets_out, data_out.slice(0, used)],
        null_count=array.null_count,
    )
    return folded, refused


def fold_punctuation(array: pa.Array) -> pa.Array:
    """Runs of punctuation, symbols, entities and whitespace as one space, ends trimmed.

    Exactly `pc.utf8_trim(pc.replace_substring_regex(array, pattern=_PUNCTUATION_RUN,
    replacement=" "), characters=" ")` (templates.py), string or large_string as given,
    nulls kept. ASCII rows without `&` go through the compiled loop (which finds the
    others as it reads, sparing two more passes over the text); the others, and arrays of
    any other type, through RE2.
    """
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return _reference_fold(array)
    folded, refused = _fold_rows(array)
    if not refused.any():
        return folded
    others = pa.array(refused)
    return pc.replace_with_mask(folded, others, _reference_fold(pc.filter(array, others)))


@njit(cache=True, nogil=True)
def _count_byte_rows(offsets: np.ndarray, data: np.ndarray, byte: int, out: np.ndarray) -> None:
    """out[i]: how many bytes of row i (data[offsets[i]:offsets[i + 1]]) equal `byte`."""
    for row in range(len(offsets) - 1):
        count = 0
        for at in range(offsets[row], offsets[row + 1]):
            if data[at] == byte:
                count += 1
        out[row] = count


def byte_counts(array: pa.Array, byte: int) -> np.ndarray:
    """How many times an ASCII `byte` occurs in each text (int64; a null row counts 0).

    `pc.count_substring` runs a general substring search, 4x slower for a single byte
    (150 ms against 35 ms per 400k normalised brand replies). An ASCII byte is never part
    of a multi-byte UTF-8 character, so counting bytes counts characters.
    """
    if not 0 <= byte < 128:
        raise ValueError(f"byte must be ASCII, not {byte}")
    offsets, data = string_buffers(array)
    out = np.empty(len(array), dtype=np.int64)
    _count_byte_rows(offsets, data, byte, out)
    return _blank_nulls(array, out, 0)


def _blank_nulls(array: pa.Array, out: np.ndarray, blank: int | bool) -> np.ndarray:
    """`out` (one value per row of `array`) with `blank` at the null rows.

    A kernel reads every row's bytes, but Arrow does not promise a null row's offsets
    span nothing: what it read there is not the row's text.
    """
    if array.null_count:
        out[~pc.is_valid(array).to_numpy(zero_copy_only=False)] = blank
    return out


def _fold_trigger_bytes() -> np.ndarray:
    """Bytes that make `text_signals._fold` rewrite a text: any non-ASCII byte, the
    backtick (a quote to straighten), `&` (an entity) and control whitespace."""
    trigger = np.zeros(256, dtype=np.bool_)
    trigger[128:] = True
    for byte in b"`&\t\n\v\f\r\x1c\x1d\x1e\x1f":
        trigger[byte] = True
    return trigger


_FOLD_TRIGGER_BYTES = _fold_trigger_bytes()


@njit(cache=True, nogil=True)
def _needs_fold_rows(
    offsets: np.ndarray, data: np.ndarray, trigger: np.ndarray, out: np.ndarray
) -> None:
    """out[i]: row i has a trigger byte, two spaces in a row, or a space at either end."""
    space = np.uint8(32)
    for row in range(len(offsets) - 1):
        start, end = offsets[row], offsets[row + 1]
        found = end > start and (data[start] == space or data[end - 1] == space)
        previous_space = False
        at = start
        while not found and at < end:
            byte = data[at]
            is_space = byte == space
            found = trigger[byte] or (is_space and previous_space)
            previous_space = is_space
            at += 1
        out[row] = found


def needs_fold(array: pa.Array) -> np.ndarray:
    """Which texts `text_signals._fold` must rewrite (bool; a null row never needs it).

    A text is already folded when it is ASCII with no backtick, `&` or control whitespace,
    no two spaces in a row and no space at either end. One byte loop instead of an ASCII
    check and an RE2 pass: 25 ms -> 10 ms per 150k generated customer posts.
    """
    offsets, data = string_buffers(array)
    out = np.empty(len(array), dtype=np.bool_)
    _needs_fold_rows(offsets, data, _FOLD_TRIGGER_BYTES, out)
    return _blank_nulls(array, out, False)
