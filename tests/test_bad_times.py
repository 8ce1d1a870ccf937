"""Post times outside the valid years are refused with their line; stores that already
hold some keep working; and posts can be deleted.

A year-0 time (`0001-01-01T00:00:00+05:00`) was accepted by the csv, x-api, snscrape and
ibm-care importers and broke every dashboard page ("year 0 is out of range").
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.benchmark.pipeline import analyse_store
from carebench.cli import app
from carebench.dashboard.aggregates import issue_table
from carebench.errors import CareBenchError
from carebench.ingest import ImportOptions, import_files
from carebench.schema import valid_years
from carebench.store import Source, Store
from tests.conftest import generated_store, make_posts
from tests.test_dashboard_app import PAGE_FILES, run_page
from tests.test_importers_ibm_care import DIALOGS
from tests.test_importers_snscrape import ACME, PAT
from tests.test_importers_snscrape import tweet as scraped
from tests.test_importers_x_api import USERS
from tests.test_importers_x_api import tweet as api_tweet
from tests.test_store import Chunk

runner = CliRunner()
YEAR_0 = "0001-01-01T00:00:00+05:00"


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def csv_file(tmp_path: Path) -> tuple[Path, int]:
    path = tmp_path / "posts.csv"
    path.write_text(
        "platform,post_id,author_id,author_role,created_at,text\n"
        "twitter,1,c1,customer,2020-01-01T10:00:00Z,@Acme my phone is broken\n"
        f"twitter,2,c2,customer,{YEAR_0},@Acme hello\n",
        encoding="utf-8",
    )
    return path, 3


def x_api_file(tmp_path: Path) -> tuple[Path, int]:
    bad = api_tweet("1630000000000000005", "42", 7, "@AcmeHelp from year 0")
    bad["created_at"] = YEAR_0
    page = {
        "data": [api_tweet("1630000000000000001", "42", 5, "@AcmeHelp late"), bad],
        "includes": {"users": USERS},
        "meta": {"result_count": 2},
    }
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=1), encoding="utf-8")
    return path, 1  # one JSON document: its records all start on line 1


def snscrape_file(tmp_path: Path) -> tuple[Path, int]:
    lines = [
        scraped(1600000000000000001, PAT, "2023-01-01T10:00:00+00:00", "@AcmeHelp my order?"),
        scraped(1600000000000000002, ACME, YEAR_0, "@pat_k On it", 1600000000000000001),
    ]
    path = tmp_path / "scrape.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path, 2


def ibm_care_file(tmp_path: Path) -> tuple[Path, int]:
    dialogs = json.loads(json.dumps(DIALOGS))
    dialogs[1]["dialogContent"][1]["datetime"] = YEAR_0
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(dialogs, indent=4), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    second = text.index('"agentURL"', text.index('"agentURL"') + 1)
    return path, text.count("\n", 0, second)  # the line the second dialog's "{" is on


def twcs_text_file(tmp_path: Path) -> tuple[Path, int]:
    path = tmp_path / "twcs.csv"
    path.write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "1,111,True,Tue Oct 31 10:00:00 +0000 2017,@Acme hi,,\n"
        "2,222,True,Mon Jan 01 00:00:00 +0500 0001,@Acme from year 0,,\n",
        encoding="utf-8",
    )
    return path, 3


FORMATS = {
    "csv": csv_file,
    "x-api": x_api_file,
    "snscrape": snscrape_file,
    "ibm-care": ibm_care_file,
    "twcs": twcs_text_file,
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_year_0_time_is_rejected_with_its_line(tmp_path: Path, fmt: str):
    path, line = FORMATS[fmt](tmp_path)
    options = ImportOptions(brand_handles=("AcmeHelp",))
    with Store(":memory:") as store:
        summary = import_files(store, fmt, [path], options).summaries[0]
        rejected = store.rejected_rows()
        assert store.count_out_of_range() == 0
        years = store.con.execute("SELECT min(year(created_at)) FROM posts").fetchone()
    assert summary.rejected == 1
    assert summary.posts_new >= 1  # the rest of the file landed
    assert list(rejected["line"]) == [line]
    reason = rejected["reason"].iloc[0]
    assert "created_at 0000-12-31T19:00:00Z is outside the years 1990-2100" in reason
    assert "CAREBENCH_VALID_YEARS" in reason
    assert summary.rejected_examples[0][0] == line
    assert years is not None and years[0] >= 1990


def test_the_cli_summary_shows_the_rejected_time(tmp_path: Path):
    path, _ = csv_file(tmp_path)
    result = invoke("import", "csv", str(path), "--db", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output and "posts.csv:3" in result.output
    assert "outside the years 1990-2100" in " ".join(result.output.split())


def test_a_live_collectors_post_is_checked_too():
    posts = make_posts([("at://p/1", None, "c", "customer", 0, "hi")], platform="bluesky")
    posts["created_at"] = pd.Series(
        pd.Timestamp("1900-01-01", tz="UTC"), index=posts.index, dtype="datetime64[us, UTC]"
    )
    posts["raw_ref"] = "bluesky/acme/run1/page-0001.json#4"
    with Store(":memory:") as store:
        summary = store.import_sources("bluesky", [Source("bluesky:acme:run1", [Chunk(posts)])])[0]
        assert store.count_posts() == 0
    assert summary.rejected == 1 and summary.rejected_examples[0][0] == 4


def test_the_valid_years_are_settable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path, _ = twcs_text_file(tmp_path)
    path.write_text(path.read_text("utf-8").replace("+0500 0001", "+0000 1985"), "utf-8")
    with Store(":memory:") as store:
        assert import_files(store, "twcs", [path]).summaries[0].rejected == 1
    monkeypatch.setenv("CAREBENCH_VALID_YEARS", "1980-2100")
    with Store(":memory:") as store:
        assert import_files(store, "twcs", [path]).summaries[0].rejected == 0
    monkeypatch.setenv("CAREBENCH_VALID_YEARS", "2100-1990")
    with pytest.raises(CareBenchError, match="CAREBENCH_VALID_YEARS='2100-1990'"):
        valid_years()


def old_store_with_a_year_0_post(db: Path) -> None:
    """A store as the old code left it: good posts, and one of year 0 (as it landed)."""
    with Store(db) as store:
        rows = [
            ("1", None, "c1", "customer", 0, "@Acme my phone is broken"),
            ("2", "1", "Acme", "brand", 5, "@c1 sorry, DM us"),
            ("3", None, "c2", "customer", 9, "@Bolt hello"),
            ("4", "3", "Bolt", "brand", 12, "@c2 hi there"),
        ]
        store.import_sources("csv", [Source("posts.csv", [Chunk(make_posts(rows))])])
    con = duckdb.connect(str(db))
    con.execute(
        "INSERT INTO posts VALUES ('twitter', '9', NULL, NULL, NULL, 'c9', 'c9', 'customer', "
        f"NULL, TIMESTAMPTZ '{YEAR_0}', '@Acme year zero', NULL, 'csv', NULL, 'old.csv:2')"
    )
    con.close()


def test_an_old_store_holding_a_year_0_post_still_scores_and_counts_it(tmp_path: Path):
    db = tmp_path / "old.duckdb"
    old_store_with_a_year_0_post(db)
    with Store(db, read_only=True) as store:
        assert store.count_posts() == 5
        posts = store.posts()
        analysis = analyse_store(store)
    assert len(posts) == 4 and posts["created_at"].dt.year.min() >= 1990
    # Every date the dashboard shows converts to Python datetimes.
    analysis.conversations["opened_at"].dt.to_pydatetime()
    assert len(analysis.conversations) == 2
    assert analysis.issues["posts_out_of_range"] == 1
    table = issue_table(analysis.issues, 0).set_index("Check")
    assert table.loc["posts out of range", "Count"] == 1
    assert "carebench delete --out-of-range" in table.loc["posts out of range", "Meaning"]
    result = invoke("scorecard", "--db", str(db))
    assert result.exit_code == 0 and "Acme" in result.output


def test_delete_out_of_range_removes_them(tmp_path: Path):
    db = tmp_path / "old.duckdb"
    old_store_with_a_year_0_post(db)
    result = invoke("delete", "--out-of-range", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "Removed 1 post" in result.output
    with Store(db, read_only=True) as store:
        assert store.count_posts() == 4 and store.count_out_of_range() == 0


def test_delete_posts_by_id_refreshes_the_analysis(tmp_path: Path):
    db = tmp_path / "old.duckdb"
    old_store_with_a_year_0_post(db)
    with Store(db, read_only=True) as store:
        version = store.import_version()
    result = invoke("delete", "--platform", "twitter", "--post-id", "3", "--post-id", "4",
                    "--post-id", "404", "--db", str(db))  # fmt: skip
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Removed 2 posts" in out and "Bolt 1" in out
    assert "Not in the store: 404" in out
    with Store(db, read_only=True) as store:
        assert store.import_version() != version  # cached analyses are computed again
        analysis = analyse_store(store)
    assert set(analysis.conversations["brand"]) == {"Acme"}


def test_delete_an_import_undoes_it_whole(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    header = (
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    )
    a.write_text(header + "1,111,True,Tue Oct 31 10:00:00 +0000 2017,@Acme hi,,\n", "utf-8")
    b.write_text(
        header + "1,111,True,Tue Oct 31 10:00:00 +0000 2017,@Acme hi,,\n"
        "7,Acme,False,Tue Oct 31 10:05:00 +0000 2017,@111 hello,,1\n"
        "8,333,True,not a date,@Acme x,,\n",
        "utf-8",
    )
    assert invoke("import", "twcs", str(a), "--db", str(db)).exit_code == 0
    assert invoke("import", "twcs", str(b), "--db", str(db)).exit_code == 0
    result = invoke("delete", "--import-id", "2", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "Removed 1 post" in result.output and "Import #2 is undone" in result.output
    with Store(db, read_only=True) as store:
        # Post 1 was a.csv's (b.csv read it unchanged): it stays.
        assert list(store.posts()["post_id"]) == ["twcs:1"]
        assert list(store.imports()["import_id"]) == [1]
        assert store.rejected_rows().empty
    missing = invoke("delete", "--import-id", "9", "--db", str(db))
    assert missing.exit_code == 1 and "no import #9" in missing.output


def test_delete_explains_what_it_needs(tmp_path: Path):
    db = tmp_path / "old.duckdb"
    old_store_with_a_year_0_post(db)
    with Store(db, read_only=True) as store:
        before = list(store.snapshot())
    for args in (("delete",), ("delete", "--post-id", "1")):
        result = invoke(*args, "--db", str(db))
        assert result.exit_code == 1 and "Traceback" not in result.output
    with Store(db, read_only=True) as store:
        assert list(store.snapshot()) == before
    nowhere = invoke("delete", "--out-of-range", "--db", str(tmp_path / "none.duckdb"))
    assert nowhere.exit_code == 1 and not (tmp_path / "none.duckdb").exists()
    for option in ("--platform", "--post-id", "--import-id", "--out-of-range", "--db"):
        assert option in invoke("delete", "--help").output


@pytest.fixture(scope="module")
def dashboard_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated store, plus one year-0 post inserted as the old code let it land."""
    db = generated_store(tmp_path_factory.mktemp("year0"), posts=600, seed=3)
    con = duckdb.connect(str(db))
    con.execute(
        "INSERT INTO posts VALUES ('twitter', '9', NULL, NULL, NULL, 'c9', 'c9', 'customer', "
        f"NULL, TIMESTAMPTZ '{YEAR_0}', '@SkyLarkAir year zero', NULL, 'csv', NULL, 'o.csv:2')"
    )
    con.close()
    return db


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_dashboard_page_opens_on_a_store_holding_a_year_0_post(
    dashboard_store: Path, page: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CAREBENCH_DB", str(dashboard_store))
    at = run_page(page)  # fails on any exception the page raised
    assert not at.error, [e.value for e in at.error]
    if page == "data":
        assert "posts out of range" in str([df.value for df in at.dataframe])
