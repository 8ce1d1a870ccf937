"""Shared fixtures: tiny hand-built posts frames and paths to the real public data."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from carebench.errors import DEBUG_ENV_VAR
from carebench.ingest import import_twcs_files
from carebench.schema import conform_posts
from carebench.store import DB_ENV_VAR, Store
from carebench.synthetic import generate

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TWCS_DIR = SHARED_DATA / "twcs"
T0 = datetime(2017, 10, 31, 12, 0, tzinfo=UTC)

# A dashboard page that crashes shows users a plain message (page_guard); under test the
# crash itself must surface, so AppTest sees it. Tests of that message unset it.
os.environ[DEBUG_ENV_VAR] = "1"


def make_posts(rows: list[tuple], platform: str = "twitter") -> pd.DataFrame:
    """Posts from (post_id, parent_id, author, role, minutes after T0, text) tuples.

    A brand author is its own brand, as in TWCS.
    """
    records = []
    for post_id, parent_id, author, role, minutes, text in rows:
        records.append(
            {
                "platform": platform,
                "post_id": str(post_id),
                "parent_id": None if parent_id is None else str(parent_id),
                "author_id": author,
                "author_handle": author,
                "author_role": role,
                "brand": author if role == "brand" else None,
                "created_at": T0 + timedelta(minutes=minutes),
                "text": text,
                "collector": "test",
            }
        )
    return conform_posts(pd.DataFrame.from_records(records))


@pytest.fixture
def fresh_store() -> Iterator[Store]:
    """An empty in-memory store."""
    store = Store(":memory:")
    yield store
    store.close()


def twcs_file(name: str) -> Path:
    """A real TWCS file from ../shared/data, or skip the test saying why."""
    path = TWCS_DIR / name
    if not path.exists():
        pytest.skip(f"real data {path} is absent (needs ../shared/data beside the repo)")
    return path


def head_sample_store(factory: pytest.TempPathFactory, name: str) -> Path:
    """A store holding the real TWCS head sample (skips when ../shared/data is absent);
    one per test module (`name`), so a module that writes to it affects no other."""
    path = factory.mktemp(name) / "head.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [twcs_file("twcs_head_5k.csv")])
    return path


def generated_store(folder: Path, posts: int, seed: int) -> Path:
    """A store in `folder` holding `posts` generated posts (seeded: the same every run)."""
    csv_path = folder / "generated.csv"
    generate(csv_path, posts=posts, seed=seed)
    path = folder / "store.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [csv_path])
    return path


def private_copy(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of `store` for one test, which the dashboard opens through CAREBENCH_DB."""
    path = tmp_path / "store.duckdb"
    shutil.copy(store, path)
    monkeypatch.setenv(DB_ENV_VAR, str(path))
    return path


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What a page hands to download buttons: file name -> data (or its callable)."""
    # Imported here: most test modules never render a page.
    import streamlit
    from streamlit.delta_generator import DeltaGenerator

    made: dict[str, Any] = {}
    original = DeltaGenerator.download_button

    def record(self: DeltaGenerator, label: str, data: Any, file_name: Any = None, *a, **k):
        made[str(file_name)] = data
        return original(self, label, data, file_name, *a, **k)

    monkeypatch.setattr(DeltaGenerator, "download_button", record)
    main = streamlit._main
    monkeypatch.setattr(streamlit, "download_button", lambda *a, **k: record(main, *a, **k))
    return made
