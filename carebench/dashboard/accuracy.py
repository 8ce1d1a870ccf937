"""The published accuracy of CareBench's labels, as the "How we measure" page shows it.

`carebench validate evaluation/labels.jsonl --data ../shared/data --split test -o
carebench/published_accuracy.csv` measures every per-conversation label against human
readers on the brand-disjoint test half of the project's evaluation set and writes the
figures into the package (one row per source, field and measure: value, 95% low and
high, n). This module reads that file back (through importlib.resources, so an
installed package finds it too) and picks the figures a consultant quotes.

Pure pandas, no streamlit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import pandas as pd

from carebench.benchmark.validation import ALL_SOURCES
from carebench.errors import CareBenchError

PUBLISHED_FILE = "published_accuracy.csv"
COLUMNS: tuple[str, ...] = ("source", "field", "measure", "value", "low", "high", "n")
ALL_SOURCES_LABEL = "All sources"


class BadAccuracyFile(CareBenchError):
    """The published accuracy file is not the CSV `carebench validate -o` writes."""


@dataclass(frozen=True)
class Figure:
    """A row of the page: what is measured, and where in the validation CSV it is."""

    label: str
    field: str
    measure: str


# The figures the targets are set on, in the order a consultant reads them.
FIGURES: tuple[Figure, ...] = (
    Figure("Care request F1", "care_request", "f1"),
    Figure("Deflection precision", "deflected", "precision"),
    Figure("Deflection recall", "deflected", "recall"),
    Figure("Deflection F1", "deflected", "f1"),
    Figure("First-touch deflection F1", "first_touch_deflection", "f1"),
    Figure("Empathy accuracy", "empathy_first_reply", "accuracy"),
    Figure("Outcome accuracy", "outcome", "accuracy"),
    Figure("Resolved recall", "outcome:resolved", "recall"),
    Figure("Unresolved recall", "outcome:unresolved", "recall"),
)


def published_file() -> Traversable:
    """Where the package keeps the published figures (it may not exist)."""
    return resources.files("carebench").joinpath(PUBLISHED_FILE)


def load_published(path: Traversable | None = None) -> pd.DataFrame | None:
    """The published figures, or None when the package holds none.

    Raises `BadAccuracyFile` (naming the fix) when the file is there but is not what
    `carebench validate -o` writes.
    """
    path = path or published_file()
    if not path.is_file():
        return None
    try:
        with path.open("r", encoding="utf-8") as handle:
            frame = pd.read_csv(handle, dtype={"source": str, "field": str, "measure": str})
    except (OSError, UnicodeError, ValueError) as exc:
        raise BadAccuracyFile(
            f"{PUBLISHED_FILE} cannot be read ({exc}); write it again with "
            "`carebench validate LABELS.jsonl --split test -o carebench/published_accuracy.csv`."
        ) from exc
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise BadAccuracyFile(
            f"{PUBLISHED_FILE} has no {', '.join(missing)} column; write it again with "
            "`carebench validate LABELS.jsonl --split test -o carebench/published_accuracy.csv`."
        )
    for column in ("value", "low", "high", "n"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame[list(COLUMNS)]


def format_figure(value: float, low: float, high: float, n: float) -> str:
    """A figure as the page shows it, "0.84 (0.78-0.89), n=310"; a dash when nothing
    could be measured."""
    count = 0 if n is None or math.isnan(n) else int(n)
    if value is None or math.isnan(value):
        return f"— (n={count})"
    if math.isnan(low) or math.isnan(high):
        return f"{value:.2f}, n={count}"
    return f"{value:.2f} ({low:.2f}-{high:.2f}), n={count}"


def sources(figures: pd.DataFrame) -> list[str]:
    """All sources together first, then each labelled source file by name."""
    named = sorted(s for s in figures["source"].dropna().unique() if s != ALL_SOURCES)
    return [ALL_SOURCES, *named] if (figures["source"] == ALL_SOURCES).any() else named


def accuracy_table(figures: pd.DataFrame) -> pd.DataFrame:
    """One row per figure of `FIGURES`, one column per source ("All sources" first).

    Each cell reads "0.84 (0.78-0.89), n=310": the figure, its 95% interval and the
    number of conversations it was measured on.
    """
    keys = zip(figures["source"], figures["field"], figures["measure"], strict=True)
    numbers = figures[["value", "low", "high", "n"]].to_numpy(dtype=float)
    cells_of = {
        (str(s), str(f), str(m)): format_figure(*(float(x) for x in row))
        for (s, f, m), row in zip(keys, numbers, strict=True)
    }
    table: dict[str, list[str]] = {"Figure": [f.label for f in FIGURES]}
    for source in sources(figures):
        label = ALL_SOURCES_LABEL if source == ALL_SOURCES else source
        table[label] = [cells_of.get((source, f.field, f.measure), "not measured") for f in FIGURES]
    return pd.DataFrame(table)
