"""CSV cells a spreadsheet cannot run: the one writer behind every CSV CareBench exports.

Brand names, handles, post texts and template examples come from the public; a text
starting with `=`, `+`, `-` or `@` (or a tab or carriage return) is read as a formula
by Excel, LibreOffice and Google Sheets when a consultant opens the file
(`=HYPERLINK("http://attacker.example/?b=1","Click")`, `@=cmd|' /C calc'!A0`). Following
OWASP's advice on CSV injection, such a text cell is written with a `'` in front, which
the spreadsheet shows as text and hides; every other cell is written exactly as it is.

Numbers stay numbers: a column of a numeric dtype (`ttfr_seconds`, a negative delta) is
not text, cannot hold a formula, and is left alone, so `-5` stays `-5` and sums still
work. A *text* cell that merely looks like a number (`"-5"` in a text column) is
prefixed like any other text. Column names are text too and follow the same rule.
The generated TWCS file of `carebench generate` does not go through here: it is a data
file made to be imported back (its posts start with `@handle` as real ones do), not a
report to open in a spreadsheet.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

# OWASP's list: the characters a spreadsheet reads as the start of a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Written before a triggering cell; spreadsheets show the rest as text.
NEUTRALISER = "'"
_TRIGGER_PATTERN = r"[=+\-@\t\r]"


def neutralise_cell(value: object) -> object:
    """One cell as it is written: a text starting with a formula trigger gets a `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return NEUTRALISER + value
    return value


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of `table` whose text cells and column names cannot start a formula.

    Columns of a numeric, boolean or datetime dtype hold no text and are returned as they
    are; every other column (object, string, category) is checked cell by cell.
    """
    out = table.copy()
    for position in range(out.shape[1]):
        series = out.iloc[:, position]
        if not _may_hold_text(series):
            continue
        if isinstance(series.dtype, pd.StringDtype):
            mask = series.str.match(_TRIGGER_PATTERN).fillna(False).to_numpy(dtype=bool)
            if mask.any():
                fixed = series.copy()
                # Positional (an index may repeat labels): plain arrays, not Series.
                fixed[mask] = (NEUTRALISER + series[mask]).to_numpy()
                out.isetitem(position, fixed.array)
            continue
        values = series.to_numpy(dtype=object)
        mask = np.fromiter(
            (isinstance(v, str) and v.startswith(FORMULA_TRIGGERS) for v in values),
            dtype=bool,
            count=len(values),
        )
        if mask.any():
            values = values.copy()
            values[mask] = [NEUTRALISER + v for v in values[mask]]
            out.isetitem(position, values)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def csv_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The table as it is written: booleans true/false, ISO UTC times, formulas defused."""
    out = table.copy()
    for position in range(out.shape[1]):
        series = out.iloc[:, position]
        if pd.api.types.is_bool_dtype(series) or str(series.dtype) == "boolean":
            words = series.map({True: "true", False: "false"}).astype("string")
            out.isetitem(position, words.array)
        elif isinstance(series.dtype, pd.DatetimeTZDtype):
            out.isetitem(position, series.dt.strftime("%Y-%m-%dT%H:%M:%SZ").array)
    return neutralise_formulas(out)


def csv_text(table: pd.DataFrame) -> str:
    """The table as UTF-8 CSV text (no index), safe to open in a spreadsheet."""
    frame = csv_frame(table)
    return str(frame.to_csv(index=False, lineterminator="\n", quoting=_quoting(frame)))


def write_csv_file(table: pd.DataFrame, path: str | Path) -> None:
    """Write the table as a UTF-8 CSV file (no index), safe to open in a spreadsheet."""
    frame = csv_frame(table)
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", quoting=_quoting(frame))


def _quoting(frame: pd.DataFrame) -> Literal[0, 2]:
    """Quote only what needs it, unless a text holds a lone carriage return.

    Python's csv writer quotes a cell holding a line feed but not one holding a bare CR,
    and a spreadsheet starts a new row at that CR: the rest of the cell would land
    unquoted at the start of a row (`ok\\r=HYPERLINK(...)`). Then every text cell is
    quoted (numbers still are not): the same values, a few more quotes.
    """
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        if not _may_hold_text(series):
            continue
        if isinstance(series.dtype, pd.StringDtype):
            if series.str.contains("\r", regex=False).fillna(False).any():
                return csv.QUOTE_NONNUMERIC
        elif any(isinstance(v, str) and "\r" in v for v in series.to_numpy(dtype=object)):
            return csv.QUOTE_NONNUMERIC
    if any("\r" in str(c) for c in frame.columns):
        return csv.QUOTE_NONNUMERIC
    return csv.QUOTE_MINIMAL


def _may_hold_text(series: pd.Series) -> bool:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    return not (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    )
