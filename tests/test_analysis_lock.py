"""The analysis holds no lock on the store while it computes: imports land meanwhile."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carebench.benchmark import pipeline
from carebench.cli import app
from carebench.dashboard import data as dashboard_data
from carebench.ingest import import_twcs_files
from carebench.store import Store
from carebench.synthetic import generate

REPO = Path(__file__).resolve().parents[1]
WAIT_SECONDS = 60

EXTRA_TWCS = """tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id
9000001,lockcheck,True,Tue Oct 31 22:10:47 +0000 2017,@AcmeHelp my order is late,9000002,
9000002,AcmeHelp,False,Tue Oct 31 22:20:47 +0000 2017,@lockcheck sorry! DM us,,9000001
"""


def dashboard_read(path: Path) -> int:
    """The dashboard reads and scores the store; returns the posts it read."""
    loaded = dashboard_data.read_store(path)
    assert "9000001" not in set(loaded.analysis.conversations["conversation_id"])
    return loaded.posts


def cli_scorecard(path: Path) -> int:
    """`carebench scorecard` on the store; returns its exit code."""
    return CliRunner().invoke(app, ["scorecard", "--db", str(path)]).exit_code


@pytest.mark.parametrize(
    ("reader", "expected"), [(dashboard_read, 300), (cli_scorecard, 0)], ids=["dashboard", "cli"]
)
def test_an_import_lands_while_the_store_is_scored(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reader: Callable[[Path], int],
    expected: int,
):
    monkeypatch.delenv(dashboard_data.BRANDS_ENV_VAR, raising=False)
    generated = tmp_path / "generated.csv"
    generate(generated, posts=300, seed=3)
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [generated])
    extra = tmp_path / "extra.csv"
    extra.write_text(EXTRA_TWCS)

    # The analysis stops at its start until the import is done.
    computing, release = threading.Event(), threading.Event()
    real_analyse = pipeline.analyse

    def blocked_analyse(*args, **kwargs):
        computing.set()
        release.wait(WAIT_SECONDS)
        return real_analyse(*args, **kwargs)

    monkeypatch.setattr(pipeline, "analyse", blocked_analyse)
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(reader(path)))
    worker.start()
    try:
        assert computing.wait(WAIT_SECONDS), "the analysis never started"
        # What a user does meanwhile: `carebench import` from another process.
        done = subprocess.run(
            [sys.executable, "-m", "carebench", "import", "twcs", str(extra), "--db", str(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
        )
    finally:
        release.set()
        worker.join(WAIT_SECONDS)
    assert not worker.is_alive()
    assert done.returncode == 0, done.stdout + done.stderr
    # The store was scored as it was read; the import is in the store.
    assert results == [expected]
    with Store(path, read_only=True) as store:
        assert store.count_posts() == 302
