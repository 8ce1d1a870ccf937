"""Runs of equal values in an array whose rows come grouped (turns by conversation,
templates by brand, LSH bucket members by bucket): vectorised, without a groupby."""

from __future__ import annotations

import numpy as np
import pandas as pd


def first_of_runs(values: pd.Series | np.ndarray) -> np.ndarray:
    """Mask of the first row of each run of equal values (turns come grouped by root)."""
    values = np.asarray(values)
    return np.r_[True, values[1:] != values[:-1]] if len(values) else np.zeros(0, dtype=bool)


def last_of_runs(values: pd.Series | np.ndarray) -> np.ndarray:
    """Mask of the last row of each run of equal values."""
    values = np.asarray(values)
    return np.r_[values[1:] != values[:-1], True] if len(values) else np.zeros(0, dtype=bool)


def place_in_runs(values: pd.Series | np.ndarray) -> np.ndarray:
    """Each row's place in its run of equal values, from 0 (a cumcount per run)."""
    values = np.asarray(values)
    starts = np.flatnonzero(first_of_runs(values))
    return np.arange(len(values)) - np.repeat(starts, np.diff(np.r_[starts, len(values)]))
