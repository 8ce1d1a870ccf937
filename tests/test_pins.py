"""Workshop pins: kept in the store, idempotent, and absent stores stay untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from carebench.errors import StoreError
from carebench.store import Store


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


def test_pins_persist_across_reopening(path: Path):
    with Store(path) as store:
        store.pin("twitter", "101", "Acme", "good public fix")
        store.pin("twitter", "205", "Beta")
    with Store(path, read_only=True) as store:
        pins = store.pins()
    assert pins[["platform", "conversation_id", "brand"]].values.tolist() == [
        ["twitter", "101", "Acme"],
        ["twitter", "205", "Beta"],
    ]
    assert pins["note"].tolist()[0] == "good public fix"
    assert pins["note"].isna().tolist() == [False, True]
    assert str(pins["pinned_at"].dtype) == "datetime64[us, UTC]"


def test_pinning_twice_keeps_one_pin_and_its_first_time(path: Path):
    with Store(path) as store:
        store.pin("twitter", "101", "Acme", "first note")
        first = store.pins()
        store.pin("twitter", "101", "Acme")
        assert store.pins().equals(first)
        store.pin("twitter", "101", None, "better note")
        again = store.pins()
    assert len(again) == 1
    assert again["note"].iloc[0] == "better note"
    assert again["brand"].iloc[0] == "Acme"
    assert again["pinned_at"].iloc[0] == first["pinned_at"].iloc[0]


def test_the_same_id_on_two_platforms_is_two_pins(path: Path):
    with Store(path) as store:
        store.pin("twitter", "1")
        store.pin("bluesky", "1")
        assert len(store.pins()) == 2


def test_unpin(path: Path):
    with Store(path) as store:
        store.pin("twitter", "101")
        assert store.unpin("twitter", "101") is True
        assert store.unpin("twitter", "101") is False
        assert store.pins().empty


def test_a_store_that_never_pinned_has_no_pins_and_no_table(path: Path):
    with Store(path) as store:
        before = store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        assert store.pins().empty
        assert list(store.pins().columns) == list(Store.PIN_COLUMNS)
        assert store.unpin("twitter", "1") is False
        after = store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert after == before
    with Store(path, read_only=True) as store:
        assert store.pins().empty


def test_pinning_in_a_read_only_store_is_a_clear_error(path: Path):
    Store(path).close()
    with Store(path, read_only=True) as store, pytest.raises(StoreError, match="Cannot pin"):
        store.pin("twitter", "1")


def test_pins_do_not_touch_posts(path: Path):
    with Store(path) as store:
        before = list(store.snapshot())
        store.pin("twitter", "1", "Acme", "note")
        assert list(store.snapshot()) == before


def test_pinning_keeps_the_dashboard_cache_key_and_an_import_changes_it(path: Path):
    # The dashboard re-reads and re-scores the whole store when its version changes: a
    # pin must not cost that, an import must.
    from carebench.dashboard.data import store_version
    from carebench.ingest import import_twcs_files
    from carebench.synthetic import generate

    csv_path = path.with_name("posts.csv")
    generate(csv_path, posts=200, seed=1)
    with Store(path) as store:
        import_twcs_files(store, [csv_path])
    before = store_version(path)
    with Store(path) as store:
        store.pin("twitter", "101", "Acme")
    assert store_version(path) == before
    generate(csv_path, posts=300, seed=2)
    with Store(path) as store:
        import_twcs_files(store, [csv_path])
    assert store_version(path) != before
