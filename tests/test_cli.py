"""The `carebench` command line: import, export, scorecard, errors without tracebacks."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from carebench.cli import app
from carebench.store import Store

runner = CliRunner()

TWCS = (
    "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    "1,111,True,Tue Oct 31 10:00:00 +0000 2017,@Acme my parcel is late,2,\n"
    "2,Acme,False,Tue Oct 31 10:30:00 +0000 2017,@111 Sorry! Please DM us your order number.,3,1\n"
    "3,111,True,Tue Oct 31 10:40:00 +0000 2017,@Acme done,,2\n"
    "4,222,True,Tue Oct 31 11:00:00 +0000 2017,@Acme love the new app,5,\n"
    "5,Acme,False,Tue Oct 31 11:05:00 +0000 2017,@222 Thanks so much!,,4\n"
    "6,333,True,Tue Oct 31 12:00:00 +0000 2017,@Acme where is my refund?,,\n"
)


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def twcs_csv(tmp_path: Path) -> Path:
    path = tmp_path / "sample.csv"
    path.write_text(TWCS, encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


def test_import_prints_summary_and_second_import_changes_nothing(twcs_csv: Path, db: Path):
    first = invoke("import", "twcs", str(twcs_csv), "--db", str(db))
    assert first.exit_code == 0, first.output
    assert "6 posts" in first.output
    with Store(db) as store:
        before = list(store.snapshot())
    second = invoke("import", "twcs", str(twcs_csv), "--db", str(db))
    assert second.exit_code == 0
    with Store(db) as store:
        after = list(store.snapshot())
    posts = lambda rows: [r for r in rows if r[0] == "posts"]  # noqa: E731
    assert posts(after) == posts(before)


def test_export_conversations_columns_and_values(twcs_csv: Path, db: Path, tmp_path: Path):
    invoke("import", "twcs", str(twcs_csv), "--db", str(db))
    out = tmp_path / "c.csv"
    result = invoke("export", "conversations", "-o", str(out), "--db", str(db))
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as handle:
        # TWCS ids are kept in their namespace ("twcs:1"); the tests below read the number.
        rows = {row["conversation_id"].removeprefix("twcs:"): row for row in csv.DictReader(handle)}
    assert set(rows) == {"1", "4", "6"}
    assert rows["1"]["brand"] == "Acme"
    assert rows["1"]["ttfr_seconds"] == "1800.0"
    assert rows["1"]["answered"] == "true"
    assert rows["1"]["deflected"] == "true"
    assert rows["1"]["deflection_channels"] == "dm"
    assert rows["6"]["answered"] == "false"
    assert rows["6"]["outcome"] == "unanswered"
    assert rows["6"]["brand"] == "Acme"  # unanswered root: the brand it mentions
    assert rows["4"]["care_request"] == "false"
    header = next(csv.reader(out.open(encoding="utf-8")))
    assert header[:16] == [
        "conversation_id", "platform", "brand", "opened_at", "answered", "first_response_at",
        "ttfr_seconds", "brand_posts", "customer_posts", "deflected", "deflection_channels",
        "first_touch_deflection", "templated_posts", "outcome", "empathy_first_reply",
        "repeat_contact",
    ]  # fmt: skip


def test_export_scorecard_has_intervals_and_n(twcs_csv: Path, db: Path, tmp_path: Path):
    invoke("import", "twcs", str(twcs_csv), "--db", str(db))
    out = tmp_path / "s.csv"
    assert invoke("export", "scorecard", "-o", str(out), "--db", str(db)).exit_code == 0
    card = pd.read_csv(out)
    row = card.set_index("brand").loc["Acme"]
    assert row["conversations"] == 3
    assert row["response_rate"] == pytest.approx(2 / 3)
    assert row["response_rate_n"] == 3
    assert row["response_rate_low"] < row["response_rate"] < row["response_rate_high"]
    assert bool(row["small_sample"]) is True


def test_export_unknown_brand_lists_known_ones(twcs_csv: Path, db: Path, tmp_path: Path):
    invoke("import", "twcs", str(twcs_csv), "--db", str(db))
    result = invoke(
        "export", "scorecard", "-o", str(tmp_path / "s.csv"), "--db", str(db), "--brand", "Nope"
    )
    assert result.exit_code == 1
    assert "Unknown brand(s): Nope" in result.output
    assert "Acme" in result.output


def test_import_of_a_non_twcs_file_is_refused_and_store_unchanged(
    twcs_csv: Path, db: Path, tmp_path: Path
):
    invoke("import", "twcs", str(twcs_csv), "--db", str(db))
    with Store(db) as store:
        before = list(store.snapshot())
    other = tmp_path / "orders.csv"
    other.write_text("order,amount\n1,2\n", encoding="utf-8")
    result = invoke("import", "twcs", str(twcs_csv), str(other), "--db", str(db))
    assert result.exit_code == 1
    assert "orders.csv" in result.output and "tweet_id" in result.output
    assert "Traceback" not in result.output
    with Store(db) as store:
        assert list(store.snapshot()) == before


def test_missing_store_for_export_says_what_to_do(tmp_path: Path):
    result = invoke("export", "scorecard", "-o", str(tmp_path / "s.csv"), "--db",
                    str(tmp_path / "none.duckdb"))  # fmt: skip
    assert result.exit_code == 1
    assert "carebench import" in result.output


def test_scorecard_command_prints_table(twcs_csv: Path, db: Path):
    invoke("import", "twcs", str(twcs_csv), "--db", str(db))
    wide = runner.invoke(app, ["scorecard", "--db", str(db)], env={"COLUMNS": "200"})
    assert wide.exit_code == 0
    result = wide
    assert "Acme" in result.output and "Median first response" in result.output


def test_every_command_and_option_has_help_text():
    command = typer.main.get_command(app)
    commands = command.commands  # type: ignore[attr-defined]
    assert {"import", "export", "scorecard"} <= set(commands)
    for name, sub in commands.items():
        assert sub.help, f"command {name} has no help"
        for param in sub.params:
            assert getattr(param, "help", None), f"{name} {param.name} has no help"


def test_import_of_a_missing_file_creates_no_store(tmp_path: Path):
    db = tmp_path / "store.duckdb"
    result = invoke("import", "twcs", str(tmp_path / "typo.csv"), "--db", str(db))
    assert result.exit_code == 1
    assert "typo.csv" in result.output
    assert not db.exists()


def test_demo_builds_a_store_with_every_persona(tmp_path: Path):
    db = tmp_path / "demo.duckdb"
    result = invoke("demo", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "This is demo data" in " ".join(result.output.split())
    card_path = tmp_path / "s.csv"
    assert invoke("export", "scorecard", "-o", str(card_path), "--db", str(db)).exit_code == 0
    card = pd.read_csv(card_path)
    assert len(card) == 12
    assert (card["conversations"] >= 30).all()
    # Building again replaces the demo store rather than adding to it.
    with Store(db) as store:
        posts = store.count_posts()
    assert invoke("demo", "--db", str(db)).exit_code == 0
    with Store(db) as store:
        assert store.count_posts() == posts
