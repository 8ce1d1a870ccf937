"""Tables for CSV export: the columns PRODUCT.md promises, in a stable order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from carebench.benchmark.csv_safety import write_csv_file
from carebench.benchmark.scoring import Analysis

# PRODUCT.md's required columns first, then the extra signals a consultant asks about.
CONVERSATION_COLUMNS: tuple[str, ...] = (
    "conversation_id",
    "platform",
    "brand",
    "opened_at",
    "answered",
    "first_response_at",
    "ttfr_seconds",
    "brand_posts",
    "customer_posts",
    "deflected",
    "deflection_channels",
    "first_touch_deflection",
    "templated_posts",
    "outcome",
    "empathy_first_reply",
    "repeat_contact",
    "brand_account",
    "customer_id",
    "care_request",
    "answered_post_id",
    "first_response_id",
    "clock_skew",
    "other_brand_posts",
    "reply_seconds_median",
    "hedging",
    "personal_posts",
    "signed_posts",
    "agent_continuity",
    "follow_up",
    "resolved_at",
    "time_to_resolution_seconds",
    "opened_hour_of_week",
    "outcome_reason",
    "topic",
)

TEMPLATE_COLUMNS: tuple[str, ...] = (
    "brand",
    "template_id",
    "posts",
    "share",
    "normalised",
    "example_1",
    "example_2",
    "example_3",
)


def conversations_table(analysis: Analysis) -> pd.DataFrame:
    """One row per customer-started conversation, in PRODUCT.md's column order."""
    return analysis.conversations.loc[:, list(CONVERSATION_COLUMNS)]


def templates_table(analysis: Analysis) -> pd.DataFrame:
    """Each brand's top templates, with up to three real examples as separate columns."""
    table = analysis.templates.copy()
    examples = table.pop("examples") if "examples" in table else pd.Series(dtype=object)
    for i in range(3):
        table[f"example_{i + 1}"] = [
            items[i] if isinstance(items, list | tuple) and len(items) > i else None
            for items in examples
        ]
    return table.loc[:, list(TEMPLATE_COLUMNS)]


def write_csv(table: pd.DataFrame, path: str | Path) -> None:
    """Write a table as UTF-8 CSV: booleans as true/false, ids as plain strings, ISO times.

    Text cells that a spreadsheet would run as a formula are written with a `'` in front
    (see `carebench.benchmark.csv_safety`); numeric columns are written as they are.
    """
    write_csv_file(table, path)


def themes_table(themes: pd.DataFrame) -> pd.DataFrame:
    """Discovered themes for CSV: the example texts joined, one cell each."""
    table = themes.copy()
    table["examples"] = [" | ".join(texts) for texts in table["examples"]]
    table["share"] = table["share"].astype(float).round(3)
    return table
