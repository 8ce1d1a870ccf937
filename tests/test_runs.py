"""Runs of equal values in grouped rows: first, last and place in run."""

from __future__ import annotations

import numpy as np

from carebench.benchmark.runs import first_of_runs, last_of_runs, place_in_runs


def test_runs_of_grouped_values() -> None:
    values = np.array([7, 7, 3, 3, 3, 9, 7])  # the last 7 is a run of its own
    assert first_of_runs(values).tolist() == [True, False, True, False, False, True, True]
    assert last_of_runs(values).tolist() == [False, True, False, False, True, True, True]
    assert place_in_runs(values).tolist() == [0, 1, 0, 1, 2, 0, 0]


def test_runs_of_nothing() -> None:
    empty = np.array([], dtype=np.int64)
    for runs in (first_of_runs, last_of_runs, place_in_runs):
        assert len(runs(empty)) == 0
