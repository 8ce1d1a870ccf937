"""End to end on the real TWCS sample: import -> conversations pinned against the file."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.benchmark.pipeline import analyse_store
from carebench.cli import app
from carebench.store import Store
from tests.conftest import twcs_file

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def head_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = twcs_file("twcs_head_5k.csv")
    db = tmp_path_factory.mktemp("real") / "store.duckdb"
    result = CliRunner().invoke(app, ["import", "twcs", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture(scope="module")
def conversations(head_store: Path) -> pd.DataFrame:
    with Store(head_store, read_only=True) as store:
        analysis = analyse_store(store)
    return analysis.conversations.set_index("conversation_id")


def test_every_row_imported(head_store: Path):
    with Store(head_store, read_only=True) as store:
        log = store.imports()
        assert store.count_posts() == 5000
    assert log.loc[0, "records_read"] == 5000
    assert log.loc[0, "rejected"] == 0


def test_about_1290_customer_started_conversations(conversations: pd.DataFrame):
    assert len(conversations) == 1288
    assert conversations["brand"].notna().all()


def test_first_brand_post_answers_a_later_customer_post(conversations: pd.DataFrame):
    # Root 348 (2011) got no answer; AirAsiaSupport's first reply (343) answers the
    # customer's later post 347, 12,706 s after it.
    row = conversations.loc["twcs:348"]
    assert row["brand"] == "AirAsiaSupport"
    assert row["answered_post_id"] == "twcs:347"
    assert row["first_response_id"] == "twcs:343"
    assert row["ttfr_seconds"] == 12706


def test_multi_customer_thread(conversations: pd.DataFrame):
    # 116136 posts an announcement, 117232 complains under it, comcastcares answers
    # 117232 105 s later: TTFR is measured from the customer actually answered.
    row = conversations.loc["twcs:7081"]
    assert row["brand"] == "comcastcares"
    assert row["customer_id"] == "116136"
    assert row["answered_post_id"] == "twcs:7079"
    assert row["ttfr_seconds"] == 105
    assert row["customer_posts"] == 3


def test_brand_replying_twice_with_two_agents(conversations: pd.DataFrame):
    # Morrisons answers (Kirsty), the customer pushes back, then Janay replies twice in
    # a row (387 replies to Morrisons' own 386).
    row = conversations.loc["twcs:385"]
    assert row["brand"] == "Morrisons"
    assert row["ttfr_seconds"] == 36 * 60 + 30
    assert row["brand_posts"] == 3
    assert row["signed_posts"] == 3
    assert row["agent_continuity"] == False  # noqa: E712  (Kirsty, then Janay)
    assert row["deflected"] and row["first_touch_deflection"]
    assert "dm" in row["deflection_channels"]


def test_export_has_one_row_per_conversation(head_store: Path, tmp_path: Path):
    out = tmp_path / "c.csv"
    result = CliRunner().invoke(
        app, ["export", "conversations", "-o", str(out), "--db", str(head_store)]
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1288
    assert len({r["conversation_id"] for r in rows}) == 1288
    assert {r["answered"] for r in rows} <= {"true", "false"}
    assert all("." not in r["conversation_id"] for r in rows)


@pytest.mark.parametrize(
    "name",
    [
        "twcs_head_5k.csv",
        "twcs_random_5k.csv",
        *[f"brand_replies/{b}.csv" for b in ("AskRBC", "SpotifyCares", "Walmart")],
    ],
)
def test_real_files_import_with_no_row_lost(name: str, tmp_path: Path):
    path = twcs_file(name)
    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["import", "twcs", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    # The oracle: pandas reading with "\n" as the only record separator (bare "\r"
    # inside texts is text, as the data's README says).
    records = len(pd.read_csv(path, dtype=str, lineterminator="\n", encoding="utf-8-sig"))
    with Store(db, read_only=True) as store:
        log = store.imports().iloc[0]
        stored = store.count_posts()
    assert log["records_read"] == records
    assert stored + log["rejected"] + log["duplicates_in_source"] == records
    # Importing again changes nothing.
    before = _posts(db)
    CliRunner().invoke(app, ["import", "twcs", str(path), "--db", str(db)])
    pd.testing.assert_frame_equal(before, _posts(db))


def _posts(db: Path) -> pd.DataFrame:
    with Store(db, read_only=True) as store:
        return store.posts()
