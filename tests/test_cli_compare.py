"""`carebench scorecard` and `carebench compare`: options, formats, exit codes, and the
same verdicts as the dashboard's Scorecard page."""

from __future__ import annotations

import json
import os
from datetime import date
from importlib import resources
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.benchmark.pipeline import analyse_store
from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.settings import Settings
from carebench.cli import app
from carebench.cli_compare import EXIT_TOO_SMALL, EXIT_UNKNOWN_BRAND
from tests.conftest import generated_store, private_copy

runner = CliRunner()
GOLDEN = Path(__file__).parent / "golden"


def schema(name: str) -> dict:
    return json.loads(resources.files("carebench").joinpath(f"schemas/{name}").read_text())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_store(tmp_path_factory.mktemp("cli-compare"), posts=4000, seed=21)


@pytest.fixture(scope="module")
def conversations(store: Path) -> pd.DataFrame:
    return analyse_store(store).conversations


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def largest(conversations: pd.DataFrame, n: int) -> list[str]:
    return [str(b) for b in conversations["brand"].value_counts().index[:n]]


def test_scorecard_json_follows_its_schema_and_the_scorecard(store, conversations):
    focus, *others = largest(conversations, 3)
    code, out = run("scorecard", "--db", str(store), "--brand", focus, "--vs", ",".join(others),
                    "--format", "json")  # fmt: skip
    assert code == 0, out
    payload = json.loads(out)
    jsonschema.validate(payload, schema("scorecard.schema.json"))
    assert [r["brand"] for r in payload["rows"]] == [focus, *others]
    card = scorecard(conversations[conversations["brand"].isin([focus, *others])], Settings())
    row = card.set_index("brand").loc[focus]
    first = payload["rows"][0]
    assert first["conversations"] == row["conversations"]
    assert first["deflection_rate_pct"] == round(row["deflection_rate"] * 100, 1)
    assert first["ttfr_median_minutes"] == round(row["ttfr_median_seconds"] / 60, 1)
    assert first["resolution_rate_pct_n"] == row["resolution_rate_n"]


def test_scorecard_dates_and_platform_pick_the_conversations_opened_then(store, conversations):
    start, end = date(2017, 10, 9), date(2017, 10, 22)
    code, out = run(
        "scorecard", "--db", str(store), "--from", start.isoformat(), "--to", end.isoformat(),
        "--platform", "twitter", "--top", "50", "--format", "json",
    )  # fmt: skip
    assert code == 0, out
    opened = conversations["opened_at"]
    inside = (opened >= pd.Timestamp(start, tz="UTC")) & (
        opened < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
    )
    assert 0 < inside.sum() < len(conversations)
    assert sum(r["conversations"] for r in json.loads(out)["rows"]) == inside.sum()


def test_scorecard_by_month_gives_rows_per_brand_and_month(store, conversations):
    focus = largest(conversations, 1)[0]
    code, out = run("scorecard", "--db", str(store), "--brand", focus, "--vs", "",
                    "--top", "1", "--period", "month", "--format", "csv")  # fmt: skip
    assert code == 0, out
    table = pd.read_csv(pd.io.common.StringIO(out))
    assert set(table["brand"]) == {focus}
    assert len(table) == conversations["opened_at"].dt.strftime("%Y-%m").nunique()


def test_scorecard_markdown_matches_the_golden_output(store):
    code, out = run("scorecard", "--db", str(store), "--top", "5", "--format", "markdown")
    assert code == 0, out
    golden = GOLDEN / "scorecard_top5.md"
    if os.environ.get("CAREBENCH_UPDATE_GOLDEN"):
        golden.write_text(out)
    assert out == golden.read_text()


def test_scorecard_table_shows_units_and_sub_minute_precision(store):
    code, out = run("scorecard", "--db", str(store), "--top", "3")
    assert code == 0, out
    assert "Median first response (" in out and "Deflected (%)" in out
    # Figures to one decimal: 2.4 and 1.8 min no longer both print "2 min".
    assert "." in out.split("\n")[5]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["scorecard", "--top", "0"], 2, "greater than or equal to 1"),
        (["scorecard", "--brand", "NoSuchBrand"], EXIT_UNKNOWN_BRAND, "Unknown brand(s)"),
        (["compare", "--brand", "NoSuchBrand", "--vs", "X"], EXIT_UNKNOWN_BRAND, "NoSuchBrand"),
        (["scorecard", "--from", "31/10/2017"], 1, "YYYY-MM-DD"),
        (["scorecard", "--from", "2017-11-02", "--to", "2017-11-01"], 1, "is after --to"),
        (["scorecard", "--platform", "myspace"], 1, "The store has: twitter"),
        (["compare", "--brand", "{focus}", "--vs", "{focus}"], 1, "leave it out of --vs"),
    ],
)  # fmt: skip
def test_bad_options_say_what_is_wrong(store, conversations, args, code, message):
    focus = largest(conversations, 1)[0]
    exit_code, out = run(*[a.replace("{focus}", focus) for a in args], "--db", str(store))
    assert exit_code == code, out
    assert message in out


def test_compare_json_follows_its_schema(store, conversations):
    focus, *others = largest(conversations, 3)
    code, out = run("compare", "--db", str(store), "--brand", focus, "--vs", ",".join(others),
                    "--format", "json")  # fmt: skip
    assert code == 0, out
    payload = json.loads(out)
    jsonschema.validate(payload, schema("compare.schema.json"))
    assert payload["focus"] == focus and payload["competitors"] == others
    assert len(payload["metrics"]) == 10


def test_compare_exits_4_when_the_samples_are_too_small(store, conversations):
    # One day of data: every brand is under the small-sample threshold.
    focus, other = largest(conversations, 2)
    day = conversations["opened_at"].min().date().isoformat()
    code, out = run("compare", "--db", str(store), "--brand", focus, "--vs", other,
                    "--from", day, "--to", day)  # fmt: skip
    assert code == EXIT_TOO_SMALL, out
    assert "Too few conversations to compare" in out
    # The table is still printed: a script sees the figures and the status.
    assert "Median first response" in out


def test_compare_says_what_the_dashboard_says(store, conversations, tmp_path, monkeypatch):
    from tests.test_dashboard_app import run_page

    focus, *others = largest(conversations, 3)
    private_copy(store, tmp_path, monkeypatch)
    at = run_page("scorecard", {"focus": focus, "vs": ",".join(others)})
    filters = at.session_state["carebench_filters"]
    frames = [f.value for f in at.dataframe]
    versus = next(f for f in frames if {"Metric", "Verdict"} <= set(f.columns))
    code, out = run("compare", "--db", str(store), "--brand", focus, "--vs", ",".join(others),
                    "--from", filters.start.isoformat(), "--to", filters.end.isoformat(),
                    "--format", "json")  # fmt: skip
    assert code == 0, out
    ours = {m["label"]: m["verdict"] for m in json.loads(out)["metrics"]}
    theirs = dict(zip(versus["Metric"], versus["Verdict"], strict=True))
    assert ours == theirs
