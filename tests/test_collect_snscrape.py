"""snscrape live: a fake `snscrape` on PATH stands in for the real one (never the network)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carebench.cli import app
from carebench.collectors.live import snscrape_cli
from carebench.collectors.live.snscrape_cli import SnscrapeUnavailable
from carebench.store import Store

runner = CliRunner()
TOOT = (
    '{"_type": "snscrape.modules.mastodon.Toot", "id": "1", '
    '"url": "https://social.example/@acme/1", '
    '"user": {"_type": "snscrape.modules.mastodon.User", "account": "@acme@social.example"}, '
    '"date": "2024-02-01T09:00:00+00:00", "text": "Service is back up."}'
)


def fake_snscrape(folder: Path, body: str) -> Path:
    """An executable named snscrape running `body` (Python) with the command's arguments."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "snscrape"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def path_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    def install(body: str) -> None:
        fake_snscrape(tmp_path / "bin", body)
        monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")

    return install


def test_missing_snscrape_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing called snscrape here
    with pytest.raises(SnscrapeUnavailable) as failure:
        snscrape_cli.run("mastodon-profile", "acme@social.example", tmp_path)
    message = str(failure.value)
    assert "not installed" in message and "3.12" in message
    assert "carebench import snscrape FILE.jsonl" in message


def test_twitter_is_refused_as_broken_upstream(path_with, tmp_path: Path):
    path_with("raise SystemExit('must not run')")
    with pytest.raises(SnscrapeUnavailable, match=r"broken since mid-2023.*carebench import"):
        snscrape_cli.run("twitter-user", "AcmeCares", tmp_path)


def test_import_failure_on_new_python_is_explained(path_with, tmp_path: Path):
    path_with(
        "sys.stderr.write(\"Traceback ...\\nAttributeError: 'FileFinder' object has no "
        "attribute 'find_module'\\n\"); sys.exit(1)"
    )
    with pytest.raises(SnscrapeUnavailable, match=r"cannot run on its Python.*3\.12"):
        snscrape_cli.run("mastodon-profile", "acme@social.example", tmp_path)
    assert not list(tmp_path.glob("*.jsonl*"))  # no partial output left behind


def test_runs_the_command_and_keeps_its_jsonl(path_with, tmp_path: Path):
    path_with(f"open(sys.argv[0] + '.args', 'w').write(' '.join(sys.argv[1:]))\nprint({TOOT!r})")
    since = __import__("datetime").datetime(2024, 1, 31, tzinfo=__import__("datetime").UTC)
    out = tmp_path / "out"
    result = snscrape_cli.run("mastodon-profile", "acme@social.example", out, since=since, limit=5)
    assert result.records == 1
    assert result.path.read_text(encoding="utf-8").strip() == TOOT
    args = (tmp_path / "bin" / "snscrape.args").read_text(encoding="utf-8")
    assert args == (
        "--jsonl --since 2024-01-31 00:00:00 +0000 --max-results 5 "
        "mastodon-profile acme@social.example"
    )


def test_cli_saves_the_jsonl_and_imports_it(path_with, tmp_path: Path):
    path_with(f"print({TOOT!r})")
    raw = tmp_path / "raw"
    db = tmp_path / "store.duckdb"
    args = ["collect", "snscrape", "--scraper", "mastodon-profile", "--brand", "Acme"]
    args += ["--handle", "acme@social.example", "--raw-dir", str(raw), "--db", str(db)]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "Saved 1 records" in output
    assert "The store now holds 1 post" in output
    assert len(list(raw.rglob("*.jsonl"))) == 1
    with Store(db, read_only=True) as store:
        posts = store.posts()
    assert posts["collector"].tolist() == ["snscrape"]
    assert posts["author_role"].tolist() == ["brand"]
    assert posts["brand"].tolist() == ["Acme"]  # the brand's name, not the handle


def test_cli_refuses_twitter_plainly(tmp_path: Path):
    args = ["collect", "snscrape", "--scraper", "twitter-search", "--brand", "Acme"]
    args += ["--handle", "AcmeCares", "--raw-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "broken since mid-2023" in " ".join(result.output.split())
