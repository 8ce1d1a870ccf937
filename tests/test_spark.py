"""The analysis on Spark equals the local analysis, table for table (marker `spark`).

One local[2] session serves every test (starting one costs seconds); each test runs the
Spark path and the local path (`import` + `analyse_store`) on the same input and
compares scorecards, conversations (same rows, values and dtypes), turns, templates and
data-quality counts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from carebench.benchmark.conversations import build_threads
from carebench.benchmark.pipeline import analyse_store
from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.scoring import Analysis
from carebench.benchmark.settings import Settings
from carebench.brands import BrandConfig, load_brand_config
from carebench.ingest import import_files
from carebench.schema import conform_posts
from carebench.spark.output import read_output
from carebench.spark.session import missing
from carebench.store import Store
from carebench.synthetic import generate

REASON = missing()
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(REASON is not None, reason=f"Spark tests skipped: {REASON}"),
]
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "twcs"
# Small tasks, so that even 5k posts spread over several tasks, and packing is tested.
TASK_POSTS = 1_500


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from carebench.spark.session import spark_session

    session = spark_session(
        "local[2]",
        {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "1g",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def local_analysis(path: Path, brands: BrandConfig | None = None) -> Analysis:
    store = Store()
    import_files(store, "twcs", [path])
    return analyse_store(store, None, brands)


def spark_analysis(
    spark: object, path: Path, out: Path, brands: BrandConfig | None = None
) -> Analysis:
    from carebench.spark.run import analyse_on_spark, read_source_posts

    posts = read_source_posts(spark, "twcs", [path])  # type: ignore[arg-type]
    analyse_on_spark(spark, posts, str(out), brands, task_posts=TASK_POSTS)  # type: ignore[arg-type]
    return read_output(out)


def assert_same(local: Analysis, spark: Analysis) -> None:
    settings = Settings()
    pd.testing.assert_frame_equal(
        scorecard(local.conversations, settings), scorecard(spark.conversations, settings)
    )
    keys = ["conversation_id", "platform"]
    pd.testing.assert_frame_equal(
        local.conversations.sort_values(keys, kind="stable").reset_index(drop=True),
        spark.conversations.sort_values(keys, kind="stable").reset_index(drop=True),
    )
    # The order itself is the local one, and so are the other tables.
    pd.testing.assert_frame_equal(local.conversations, spark.conversations)
    pd.testing.assert_frame_equal(local.turns, spark.turns)
    pd.testing.assert_frame_equal(local.templates, spark.templates)
    assert local.issues == spark.issues


def compare(spark: object, path: Path, out: Path, brands: BrandConfig | None = None) -> Analysis:
    local = local_analysis(path, brands)
    assert_same(local, spark_analysis(spark, path, out, brands))
    return local


def real(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["twcs_head_5k.csv", "twcs_random_5k.csv"])
def test_real_samples_equal_the_local_analysis(spark: object, tmp_path: Path, name: str):
    local = compare(spark, real(name), tmp_path / "out")
    assert len(local.conversations) > 1000


@pytest.mark.realdata
def test_brand_config_merging_two_accounts(spark: object, tmp_path: Path):
    config = tmp_path / "brands.toml"
    config.write_text('[brands.Airlines]\naccounts = ["Delta", "British_Airways"]\n')
    brands = load_brand_config(config)
    local = compare(spark, real("twcs_head_5k.csv"), tmp_path / "out", brands)
    assert "Airlines" in set(local.conversations["brand"].dropna())


def test_generated_posts(spark: object, tmp_path: Path):
    path = tmp_path / "generated.csv"
    generate(path, posts=20_000, seed=7)
    local = compare(spark, path, tmp_path / "out")
    assert local.issues["posts"] == 20_000
    assert local.conversations["brand"].nunique() > 3


EDGE = (
    b",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    # A conversation answered by the brand.
    b"0,1,115712,True,Tue Oct 31 22:08:27 +0000 2017,@acme my order is late,2,\n"
    b"1,2,acme,False,Tue Oct 31 22:10:47 +0000 2017,@115712 Sorry! DM us please,,1.0\n"
    # Post 1 again: a file's last occurrence wins, as an import keeps it.
    b"2,1,115712,True,Tue Oct 31 22:08:27 +0000 2017,@acme my order is very late,2,\n"
    # A reply cycle: 10 answers 11, 11 answers 10.
    b"3,10,200,True,Tue Oct 31 23:00:00 +0000 2017,@acme loop one,11,11.0\n"
    b"4,11,acme,False,Tue Oct 31 23:01:00 +0000 2017,@200 loop two,10,10.0\n"
    # A bad date: rejected with its line.
    b"5,20,300,True,Not a date,@acme when?,,\n"
    # Invalid UTF-8 in a text (the file is UTF-8 otherwise: its record alone is rejected).
    b"10,50,700,True,Wed Nov 01 07:00:00 +0000 2017,"
    + "@acme café crème brûlée naïve déjà señor Zürich".encode()
    + b",,\n"
    b"6,30,400,True,Wed Nov 01 08:00:00 +0000 2017,@acme caf\xe9 closed \xff\xfe,31,\n"
    b"7,31,acme,False,Wed Nov 01 08:30:00 +0000 2017,@400 We are on it,,30.0\n"
    # A bare CR inside a quoted text, and an unanswered post mentioning the brand.
    b'8,40,500,True,Wed Nov 01 09:00:00 +0000 2017,"@acme line one\rline two",,\n'
    b"9,41,600,True,Wed Nov 01 09:05:00 +0000 2017,hello @Acme anyone?,,\n"
)


def test_edge_file(spark: object, tmp_path: Path):
    path = tmp_path / "edge.csv"
    path.write_bytes(EDGE)
    local = compare(spark, path, tmp_path / "out")
    assert local.issues["posts_on_reply_cycles"] == 2
    # Post 30 (invalid UTF-8) is rejected as an import rejects it, not silently mended.
    assert set(local.conversations["conversation_id"]) == {f"twcs:{i}" for i in (1, 40, 41, 50)}


def test_commands_end_to_end(spark: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """import -> export posts --parquet -> spark analyse -> spark load -> export scorecard:
    the same CSV as the local store's scorecard."""
    from carebench.cli import app

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "generated.csv"
    generate(path, posts=3_000, seed=3)
    runner = CliRunner()

    def run(*args: str) -> None:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output

    run("import", "twcs", str(path), "--db", "local.duckdb")
    run("export", "posts", "--parquet", "posts", "--db", "local.duckdb")
    run("export", "scorecard", "-o", "local.csv", "--db", "local.duckdb")
    run("spark", "analyse", "posts", "-o", "out", "--task-posts", "1000")
    run("spark", "load", "out", "--db", "spark.duckdb")
    run("export", "scorecard", "-o", "spark.csv", "--db", "spark.duckdb")
    assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    # The analysis loaded is the store's own: nothing was recomputed.
    from carebench.benchmark.persisted import analysis_state

    with Store(tmp_path / "spark.duckdb", read_only=True) as store:
        assert analysis_state(store).status == "fresh"
    # Source files straight from their reader give the same tables, from a byte stream
    # of a URI (file:// here; s3a:// or hdfs:// on a cluster) as from a path.
    run("spark", "analyse", path.as_uri(), "--format", "twcs", "-o", "out2")
    pd.testing.assert_frame_equal(
        read_output(tmp_path / "out").conversations, read_output(tmp_path / "out2").conversations
    )
    # A store that already holds posts is refused, with the fix.
    result = runner.invoke(app, ["spark", "load", "out", "--db", "local.duckdb"])
    assert result.exit_code == 1
    assert "new store" in result.output


START = pd.Timestamp("2024-01-01", tz="UTC")


@st.composite
def forests(draw: st.DrawFn) -> pd.DataFrame:
    """Random reply forests: parents anywhere (cycles too), brand or customer authors,
    brands by handle, roots mentioning brand accounts, ties in time."""
    n = draw(st.integers(1, 40))
    parents = draw(st.lists(st.integers(-1, n - 1), min_size=n, max_size=n))
    brand = draw(st.lists(st.sampled_from([None, "acme", "bolt", "Acme"]), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    mention = draw(
        st.lists(st.sampled_from(["", "@acme ", "@bolt ", "@nobody "]), min_size=n, max_size=n)
    )
    rows = []
    for i in range(n):
        handle = brand[i] or f"user{i % 4}"
        rows.append(
            {
                "platform": "twitter",
                "post_id": str(i),
                "parent_id": str(parents[i]) if parents[i] >= 0 else None,
                "author_id": handle,
                "author_handle": handle,
                "author_role": "brand" if brand[i] else "customer",
                "created_at": pd.Timestamp("2024-01-01", tz="UTC")
                + pd.Timedelta(minutes=minutes[i]),
                "text": f"{mention[i]}post {i}",
                "collector": "test",
            }
        )
    return conform_posts(pd.DataFrame(rows))


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(posts=forests())
def test_roots_and_tree_brands_match_the_thread_builder(spark: object, posts: pd.DataFrame):
    import pyarrow as pa

    from carebench.spark.run import analyse_on_spark, spark_rows

    out = Path(__import__("tempfile").mkdtemp())
    try:
        rows = pa.Table.from_batches([spark_rows(posts, 0, 0)])
        frame = spark.createDataFrame(rows)  # type: ignore[attr-defined]
        analyse_on_spark(spark, frame, str(out), task_posts=5)  # type: ignore[arg-type]
        spark_turns = read_output(out).turns
    finally:
        shutil.rmtree(out)
    local = build_threads(posts).turns
    expected = local[["post_id", "conversation_id", "conversation_brand"]]
    got = spark_turns[["post_id", "conversation_id", "conversation_brand"]]
    key = ["post_id"]
    pd.testing.assert_frame_equal(
        expected.sort_values(key).reset_index(drop=True),
        got.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    assert np.array_equal(
        np.sort(local["conversation_id"].unique().astype(str)),
        np.sort(spark_turns["conversation_id"].unique().astype(str)),
    )
