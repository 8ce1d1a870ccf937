"""Which conversations a view holds: brands, the days they were opened on, a platform.

One rule for the dashboard's sidebar, the CLI's `--from/--to/--platform`, the report's
period and the Trends page's before/after ranges: a conversation belongs to the days it
was opened on in UTC, and both the first and the last day are included.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd


def view_mask(
    conversations: pd.DataFrame,
    *,
    brands: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    platform: str | None = None,
) -> np.ndarray:
    """True for the conversations of `brands` (all when None), opened on `start`..`end`
    (UTC days, both included; open-ended when None), on `platform` (any when None)."""
    keep = pd.Series(True, index=conversations.index)
    if brands is not None:
        keep &= conversations["brand"].isin(list(brands))
    opened = conversations["opened_at"]
    if start is not None:
        keep &= opened >= pd.Timestamp(start, tz="UTC")
    if end is not None:
        keep &= opened < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
    if platform:
        keep &= conversations["platform"] == platform
    return keep.fillna(False).to_numpy(dtype=bool)
