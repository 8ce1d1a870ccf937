"""The store: upserts are idempotent and an import lands whole or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carebench.errors import ImportFailed, StoreError
from carebench.schema import POST_COLUMNS
from carebench.store import Source, Store, open_store, resolve_db_path
from tests.conftest import make_posts


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str
    raw: str = ""


@dataclass(frozen=True)
class Chunk:
    posts: pd.DataFrame
    rejected: tuple[Rejected, ...] = field(default_factory=tuple)
    records_read: int = 0


def chunk(rows: list[tuple], rejected: tuple[Rejected, ...] = ()) -> Chunk:
    posts = make_posts(rows)
    return Chunk(posts, rejected, len(posts) + len(rejected))


ROWS = [
    ("1", None, "c", "customer", 0, "help"),
    ("2", "1", "Acme", "brand", 5, "sorry"),
    ("3", "2", "c", "customer", 9, "thanks, that worked"),
]


def test_import_counts_new_then_unchanged(fresh_store: Store):
    first = fresh_store.import_sources("test", [Source("a.csv", [chunk(ROWS)])])[0]
    assert (first.posts_new, first.posts_updated, first.posts_unchanged) == (3, 0, 0)
    again = fresh_store.import_sources("test", [Source("a.csv", [chunk(ROWS)])])[0]
    assert (again.posts_new, again.posts_updated, again.posts_unchanged) == (0, 0, 3)
    assert fresh_store.count_posts() == 3


def test_import_twice_leaves_posts_identical(fresh_store: Store):
    fresh_store.import_sources("test", [Source("a.csv", [chunk(ROWS)])])
    once = fresh_store.posts()
    fresh_store.import_sources("test", [Source("b.csv", [chunk(ROWS)])])
    pd.testing.assert_frame_equal(once, fresh_store.posts())


def test_changed_text_is_an_update_not_a_duplicate(fresh_store: Store):
    fresh_store.import_sources("test", [Source("a.csv", [chunk(ROWS)])])
    edited = [*ROWS[:2], ("3", "2", "c", "customer", 9, "still broken")]
    summary = fresh_store.import_sources("test", [Source("a.csv", [chunk(edited)])])[0]
    assert (summary.posts_new, summary.posts_updated) == (0, 1)
    posts = fresh_store.posts().set_index("post_id")
    assert posts.loc["3", "text"] == "still broken"
    assert fresh_store.count_posts() == 3


def test_duplicate_in_one_source_keeps_the_last_and_is_counted(fresh_store: Store):
    rows = [*ROWS, ("3", "2", "c", "customer", 9, "edited later")]
    summary = fresh_store.import_sources("test", [Source("a.csv", [chunk(rows)])])[0]
    assert summary.duplicates_in_source == 1
    assert fresh_store.posts().set_index("post_id").loc["3", "text"] == "edited later"


def test_the_same_post_in_two_sources_of_one_import_is_one_post_the_later_wins(
    fresh_store: Store,
):
    edited = [("3", "2", "c", "customer", 9, "edited later")]
    first, second = fresh_store.import_sources(
        "test", [Source("a.csv", [chunk(ROWS)]), Source("b.csv", [chunk(edited)])]
    )
    assert first.posts_new == 3
    assert (second.posts_new, second.posts_updated) == (0, 1)
    assert fresh_store.count_posts() == 3
    assert fresh_store.posts().set_index("post_id").loc["3", "text"] == "edited later"


def test_posts_can_skip_columns_the_caller_never_reads(fresh_store: Store):
    fresh_store.import_sources("test", [Source("a.csv", [chunk(ROWS)])])
    full = fresh_store.posts()
    slim = fresh_store.posts(skip=("url", "collector"))
    assert list(slim.columns) == list(full.columns)
    assert slim["collector"].isna().all() and full["collector"].eq("test").all()
    pd.testing.assert_frame_equal(
        slim.drop(columns=["url", "collector"]), full.drop(columns=["url", "collector"])
    )
    with pytest.raises(ValueError, match="Not post columns: txt"):
        fresh_store.posts(skip=("txt",))


def test_posts_can_skip_every_column_but_the_text(fresh_store: Store):
    fresh_store.import_sources("test", [Source("a.csv", [chunk(ROWS)])])
    only_text = fresh_store.posts(skip=[c for c in POST_COLUMNS if c != "text"])
    assert sorted(only_text["text"]) == sorted(text for *_, text in ROWS)
    assert only_text["post_id"].isna().all()


def test_posts_unordered_are_the_same_posts(fresh_store: Store):
    fresh_store.import_sources("test", [Source("a.csv", [chunk(ROWS[::-1])])])
    ordered = fresh_store.posts()
    assert ordered["created_at"].is_monotonic_increasing
    unordered = fresh_store.posts(ordered=False)
    key = ["platform", "post_id"]
    pd.testing.assert_frame_equal(
        unordered.sort_values(key).reset_index(drop=True),
        ordered.sort_values(key).reset_index(drop=True),
    )


def test_rejected_rows_are_recorded_with_line_and_reason(fresh_store: Store):
    bad = (Rejected(7, "created_at 'yesterday' is not a date"),)
    summary = fresh_store.import_sources("test", [Source("a.csv", [chunk(ROWS, bad)])])[0]
    assert summary.rejected == 1
    assert summary.records_read == 4
    rejected = fresh_store.rejected_rows()
    assert rejected.loc[0, "line"] == 7
    assert "yesterday" in rejected.loc[0, "reason"]
    log = fresh_store.imports()
    assert log.loc[0, "rejected"] == 1 and log.loc[0, "posts_new"] == 3


def test_failure_mid_import_leaves_store_unchanged(fresh_store: Store):
    fresh_store.import_sources("test", [Source("a.csv", [chunk(ROWS[:1])])])
    before = list(fresh_store.snapshot())

    def broken():
        yield chunk(ROWS)
        raise ValueError("disk on fire")

    with pytest.raises(ImportFailed, match="store is unchanged"):
        fresh_store.import_sources(
            "test", [Source("b.csv", [chunk(ROWS[1:])]), Source("c.csv", broken())]
        )
    assert list(fresh_store.snapshot()) == before
    # Nothing of the failed import is left behind to trouble the next one.
    fresh_store.import_sources("test", [Source("b.csv", [chunk(ROWS[1:])])])
    assert fresh_store.count_posts() == 3


def _spill_case_sources() -> list[Source]:
    """Two sources, several chunks each, a post repeated within and across sources."""
    later = [
        ("4", "3", "Acme", "brand", 12, "glad to hear it"),
        ("5", None, "d", "customer", 20, "hi"),
    ]
    return [
        Source("a.csv", [chunk(ROWS[:2]), chunk(ROWS[2:]), chunk([ROWS[0]])]),
        Source(
            "b.csv",
            [chunk(later[:1], (Rejected(7, "bad date"),)), chunk([later[1], ROWS[1]])],
        ),
    ]


@pytest.mark.parametrize("budget", [0, 900, 10**9])
def test_an_import_past_its_memory_budget_lands_the_same(
    budget: int, fresh_store: Store, monkeypatch: pytest.MonkeyPatch
):
    # Staged posts stay in memory up to a budget, then go to a temporary table: where the
    # switch happens (at once, part-way through a source, never) changes nothing.
    expected_store = Store(":memory:")
    expected = expected_store.import_sources("test", _spill_case_sources())
    monkeypatch.setattr("carebench.store._STAGE_IN_MEMORY_BYTES", budget)
    summaries = fresh_store.import_sources("test", _spill_case_sources())
    assert summaries == expected
    assert [s.duplicates_in_source for s in summaries] == [1, 0]
    pd.testing.assert_frame_equal(fresh_store.posts(), expected_store.posts())
    assert fresh_store.rejected_rows()[["line", "reason"]].values.tolist() == [[7, "bad date"]]
    expected_store.close()


def test_keyboard_interrupt_rolls_back(fresh_store: Store):
    def interrupted():
        yield chunk(ROWS)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fresh_store.import_sources("test", [Source("a.csv", interrupted())])
    assert fresh_store.count_posts() == 0


def test_killed_process_mid_import_leaves_file_store_unchanged(tmp_path: Path):
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        store.import_sources("test", [Source("a.csv", [chunk(ROWS[:1])])])
        before = list(store.snapshot())
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from carebench.store import Store, Source
        from tests.test_store import chunk, ROWS
        def slow():
            for i in range(1000):
                yield chunk([(str(100 + i), None, "c", "customer", i, "x")])
                if i == 50:
                    print("started", flush=True)
                    time.sleep(60)
        Store({str(db)!r}).import_sources("test", [Source("big.csv", slow())])
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with Store(db) as store:
        assert list(store.snapshot()) == before


def test_import_larger_than_a_row_group_lands_whole(fresh_store: Store):
    # DuckDB 2.0.0 silently dropped every row of a transaction that inserted more than
    # a couple of row groups into a fresh table; this pins the behaviour we rely on.
    def frame(start: int, n: int) -> pd.DataFrame:
        ids = np.arange(start, start + n).astype(str)
        base = make_posts([("0", None, "c", "customer", 0, "my parcel is late again")])
        out = base.loc[base.index.repeat(n)].reset_index(drop=True)
        out["post_id"] = ids
        return out

    chunks = [Chunk(frame(0, 250_000), (), 250_000), Chunk(frame(250_000, 50_000), (), 50_000)]
    summary = fresh_store.import_sources("test", [Source("big.csv", chunks)])[0]
    assert summary.posts_new == 300_000
    assert fresh_store.count_posts() == 300_000


def test_db_path_resolution(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CAREBENCH_DB", raising=False)
    assert resolve_db_path(None) == Path("data/carebench.duckdb")
    monkeypatch.setenv("CAREBENCH_DB", "/tmp/x.duckdb")
    assert resolve_db_path(None) == Path("/tmp/x.duckdb")
    assert resolve_db_path("y.duckdb") == Path("y.duckdb")


def test_reading_a_missing_store_says_how_to_make_one(tmp_path: Path):
    with (
        pytest.raises(StoreError, match="carebench import"),
        open_store(tmp_path / "none.duckdb", read_only=True),
    ):
        pass


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path):
    path = tmp_path / "notes.duckdb"
    path.write_text("hello")
    with pytest.raises(StoreError, match="Cannot open"):
        Store(path)


post_rows = st.lists(
    st.tuples(
        st.integers(1, 30).map(str),
        st.sampled_from(["customer", "brand"]),
        st.integers(0, 1000),
        st.text(max_size=20),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=post_rows, second=post_rows)
def test_import_twice_equals_import_once(first, second):
    def rows(spec):
        return [
            (pid, None, "a" if role == "customer" else "Acme", role, m, t)
            for pid, role, m, t in spec
        ]

    once, twice = Store(), Store()
    for store, times in ((once, 1), (twice, 2)):
        for _ in range(times):
            store.import_sources("test", [Source("a", [chunk(rows(first))])])
            store.import_sources("test", [Source("b", [chunk(rows(second))])])
    pd.testing.assert_frame_equal(once.posts(), twice.posts())
    # The import itself keeps (platform, post_id) unique: the table has no key index.
    keys = twice.con.execute(
        "SELECT count(*), count(DISTINCT (platform, post_id)) FROM posts"
    ).fetchone()
    assert keys is not None and keys[0] == keys[1]


def test_reading_the_posts_leaves_duckdb_its_whole_memory(tmp_path: Path):
    """Reading the posts lowers DuckDB's memory limit for a moment (to drop its cached
    blocks) then restores it: a later big allocation (the turns' index of a big store)
    must not hit the lowered limit, as it did with RESET on DuckDB 1.5."""
    with Store(tmp_path / "s.duckdb") as store:
        store.posts()
        store.posts()
        store.con.execute(
            "CREATE TABLE big AS SELECT 'conversation-' || range::VARCHAR || '-' || "
            "md5(range::VARCHAR) AS k FROM range(1500000)"
        )
        store.con.execute("CREATE INDEX big_k ON big (k)")  # over 64 MB of index
