"""Failures a user can cause or meet end in one line naming the problem and the fix,
never a traceback, and leave the store as it was (issue 15, item 8)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import carebench.cli as cli
import carebench.cli_compare as cli_compare
from carebench.cli import app
from carebench.errors import StoreError
from carebench.store import Store

from .test_cli import TWCS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
DEEP = "[" * 10_000 + "]" * 10_000  # JSON nested 10,000 levels deep
HUGE = "9" * 5_000  # a number Python refuses to read (over 4,300 digits)


def invoke(*args: str, **kwargs: Any):
    return runner.invoke(app, list(args), catch_exceptions=False, **kwargs)


def one_line(output: str) -> str:
    return " ".join(output.split())


def snapshot(db: Path) -> list[tuple[object, ...]]:
    with Store(db, read_only=True) as store:
        return list(store.snapshot())


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store holding the six posts of the TWCS sample."""
    source = tmp_path / "sample.csv"
    source.write_text(TWCS, encoding="utf-8")
    path = tmp_path / "store.duckdb"
    assert invoke("import", "twcs", str(source), "--db", str(path)).exit_code == 0
    return path


# -- JSON nested 10,000 deep, or holding a 5,000-digit number ------------------------------

X_PAGE = {
    "data": [{"id": "901", "author_id": "7", "created_at": "2020-04-01T10:00:00Z", "text": "hi"}],
    "includes": {"users": [{"id": "7", "username": "carol"}]},
    "meta": {"result_count": 1},
}
IBM_DIALOG = {
    "dialogHeader": {"company": "Acme"},
    "dialogContent": [
        {"client": "bob", "datetime": "2020-04-01T17:31:32Z", "message": "hi", "tweet_ID": "5"}
    ],
}
SNSCRAPE_LINE = {
    "_type": "snscrape.modules.twitter.Tweet",
    "id": 902,
    "date": "2020-04-01T10:00:00+00:00",
    "rawContent": "hello",
    "user": {"username": "dave", "id": 8},
}


def _array(record: dict[str, Any], bad: str) -> str:
    return "[\n" + json.dumps(record) + ",\n" + bad + "\n]\n"


@pytest.mark.parametrize(
    ("fmt", "text", "extra"),
    [
        ("x-api", _array(X_PAGE, '{"data": ' + DEEP + "}"), ["--brand-handle", "Acme"]),
        ("x-api", '{"data": ' + DEEP + "}", ["--brand-handle", "Acme"]),
        ("x-api", _array(X_PAGE, '{"meta": {"n": ' + HUGE + "}}"), ["--brand-handle", "Acme"]),
        ("ibm-care", _array(IBM_DIALOG, DEEP), []),
        ("ibm-care", _array(IBM_DIALOG, '{"agentURL": ' + HUGE + "}"), []),
        (
            "x-archive",
            "window.YTD.tweets.part0 = " + _array({"tweet": {}}, DEEP),
            ["--brand-handle", "Acme"],
        ),
    ],
)
def test_unreadable_json_is_refused_naming_file_and_line(
    db: Path, tmp_path: Path, fmt: str, text: str, extra: list[str]
):
    before = snapshot(db)
    path = tmp_path / "deep.js"
    path.write_text(text, encoding="utf-8")
    result = invoke("import", fmt, str(path), "--db", str(db), *extra)
    no_traceback(result)
    assert result.exit_code == 1
    said = one_line(result.output)
    assert str(path) in said
    assert ("line 3" in said or "line 1" in said) and ("too deep" in said or "digits" in said)
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("fmt", "good", "extra"),
    [
        ("x-api", X_PAGE, ["--brand-handle", "carol"]),
        ("snscrape", SNSCRAPE_LINE, ["--brand-handle", "Acme"]),
    ],
)
def test_an_unreadable_json_line_is_rejected_alone(
    db: Path, tmp_path: Path, fmt: str, good: dict[str, Any], extra: list[str]
):
    path = tmp_path / "pages.jsonl"
    lines = [json.dumps(good), '{"data": ' + DEEP + "}", '{"meta": {"n": ' + HUGE + "}}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke("import", fmt, str(path), "--db", str(db), *extra)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    with Store(db, read_only=True) as store:
        rejected = store.rejected_rows()
    assert sorted(rejected["line"]) == [2, 3]
    reasons = " ".join(rejected["reason"])
    assert "nested too deep" in reasons and "digits" in reasons


# -- a CSV header line over 128 KiB ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "twcs"])
def test_a_header_line_over_128_kib_is_refused(db: Path, tmp_path: Path, fmt: str):
    before = snapshot(db)
    path = tmp_path / "wide.csv"
    header = "platform,post_id,author_id,author_role,created_at,text," + "x" * 140_000
    path.write_text(header + "\ntwitter,1,a,brand,2020-01-01T00:00:00Z,hi,\n", encoding="utf-8")
    result = invoke("import", fmt, str(path), "--db", str(db))
    no_traceback(result)
    assert result.exit_code == 1
    said = one_line(result.output)
    assert str(path) in said and "KiB" in said and "header" in said
    assert snapshot(db) == before


# -- a damaged or truncated store --------------------------------------------------------


@pytest.fixture
def big_store(tmp_path: Path) -> Path:
    """A real store with enough posts that its data pages fill most of the file."""
    data = tmp_path / "generated.csv"
    assert invoke("generate", "-o", str(data), "--posts", "3000").exit_code == 0
    path = tmp_path / "big.duckdb"
    assert invoke("import", "twcs", str(data), "--db", str(path)).exit_code == 0
    return path


def _damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        if how == "truncated":
            handle.truncate(size // 2)
        else:
            handle.seek(size // 4)
            handle.write(b"\xff" * (size // 2))


@pytest.mark.parametrize("how", ["damaged", "truncated"])
def test_a_damaged_store_is_named_with_the_fix(
    big_store: Path, tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
):
    _damage(big_store, how)
    content = big_store.read_bytes()
    more = tmp_path / "more.csv"
    more.write_text(TWCS, encoding="utf-8")
    commands = [
        ["scorecard"],
        ["export", "conversations", "-o", str(tmp_path / "out.csv")],
        ["import", "twcs", str(more)],
    ]
    for command in commands:
        result = invoke(*command, "--db", str(big_store))
        no_traceback(result)
        assert result.exit_code == 1, command
        said = one_line(result.output)
        assert f"{big_store}: it is damaged or not a CareBench store" in said, said
        assert "restore it from a backup" in said and "--db" in said
        assert big_store.read_bytes() == content
    # The dashboard shows CareBenchError messages: it gets the same one.
    from carebench.dashboard.data import read_store, store_version

    monkeypatch.delenv("CAREBENCH_BRANDS", raising=False)
    with pytest.raises(StoreError, match="damaged or not a CareBench store"):
        store_version(big_store)
        read_store(big_store)


def test_a_file_that_is_not_a_duckdb_file_is_named(tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 1000, encoding="utf-8")
    result = invoke("scorecard", "--db", str(notes))
    assert result.exit_code == 1
    assert "damaged or not a CareBench store" in one_line(result.output)


# -- --db under a regular file ---------------------------------------------------------------


def test_db_under_a_regular_file_is_refused(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n", encoding="utf-8")
    source = tmp_path / "sample.csv"
    source.write_text(TWCS, encoding="utf-8")
    for command in (["import", "twcs", str(source)], ["demo"]):
        result = invoke(*command, "--db", str(readme / "store.duckdb"))
        no_traceback(result)
        assert result.exit_code == 1, command
        said = one_line(result.output)
        assert f"{readme} is a file, not a folder" in said or "Not a directory" in said, said
        assert "--db" in said
    assert readme.read_text(encoding="utf-8") == "# notes\n"


# -- rich markup in file names, reasons and messages ----------------------------------------


def test_markup_in_user_strings_is_printed_as_written(tmp_path: Path):
    db = tmp_path / "store.duckdb"
    final = tmp_path / "tweets [final].csv"
    final.write_text(TWCS + "[/x],111,True,Tue Oct 31 10:00:00 +0000 2017,hi,,\n", "utf-8")
    result = invoke("import", "twcs", str(final), "--db", str(db), env={"COLUMNS": "300"})
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "tweets [final].csv" in result.output  # the table's file column and the reason
    assert "[/x]" in result.output  # the rejected id, quoted in the reason
    missing = tmp_path / "[" / "x].csv"  # printed as .../[/x].csv: a closing tag to rich
    result = invoke("import", "twcs", str(missing), "--db", str(db))
    no_traceback(result)
    assert result.exit_code == 1
    assert f"{missing}: no such file" in one_line(result.output)


# -- a huge agentURL id in ibm-care ----------------------------------------------------------


def test_a_huge_agent_url_id_is_rejected_with_its_record(db: Path, tmp_path: Path):
    dialog = dict(IBM_DIALOG, agentURL={"tweet_ID": "9" * 60, "url_utterance": "see link"})
    path = tmp_path / "dev.json"
    path.write_text(json.dumps([dialog], indent=1), encoding="utf-8")
    result = invoke("import", "ibm-care", str(path), "--db", str(db), env={"COLUMNS": "300"})
    no_traceback(result)
    assert result.exit_code == 0, result.output
    said = one_line(result.output)
    assert f"rejected {path}:2: agentURL (turn 2)" in said
    assert "too large for a Twitter id" in said


# -- Ctrl-C ----------------------------------------------------------------------------------


def _raise(exc: BaseException) -> Any:
    def raiser(*_args: object, **_kwargs: object) -> Any:
        raise exc

    return raiser


INTERRUPTS = [
    KeyboardInterrupt(),
    duckdb.InterruptException("INTERRUPT Error: Interrupted!"),
    RuntimeError("Query interrupted"),  # what DuckDB's Python client raises mid-query
]


@pytest.mark.parametrize("interrupt", INTERRUPTS, ids=lambda e: type(e).__name__)
def test_ctrl_c_inside_an_import_says_interrupted(
    db: Path, tmp_path: Path, interrupt: BaseException, monkeypatch: pytest.MonkeyPatch
):
    before = snapshot(db)
    more = tmp_path / "more.csv"
    more.write_text(TWCS.replace("\n1,", "\n11,"), encoding="utf-8")
    # Inside the import's transaction, where DuckDB turns SIGINT into its own errors.
    monkeypatch.setattr(Store, "_merge", _raise(interrupt))
    result = invoke("import", "twcs", str(more), "--db", str(db))
    no_traceback(result)
    assert result.exit_code == 130
    assert "Interrupted. Nothing was imported; the store is unchanged." in one_line(result.output)
    assert snapshot(db) == before


@pytest.mark.parametrize("interrupt", INTERRUPTS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    ("command", "target", "state"),
    [
        (["scorecard"], "analyse_store", "scorecard only reads it"),
        (["export", "scorecard", "-o", "OUT"], "analyse_store", "export only reads it"),
        (["demo"], "build_demo_store", "demo store is unchanged"),
        (["generate", "-o", "OUT", "--posts", "10"], "generate_synthetic", "No store"),
    ],
)
def test_ctrl_c_in_every_command_says_interrupted_and_the_store_state(
    db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    interrupt: BaseException,
    command: list[str],
    target: str,
    state: str,
):
    before = snapshot(db)
    # `scorecard` and `compare` live in cli_compare; patch the name wherever it is used.
    for module in (cli, cli_compare):
        if hasattr(module, target):
            monkeypatch.setattr(module, target, _raise(interrupt))
    args = [str(tmp_path / "out.csv") if a == "OUT" else a for a in command]
    if command[0] != "generate":
        args += ["--db", str(db)]
    result = invoke(*args)
    no_traceback(result)
    assert result.exit_code == 130, result.output
    said = one_line(result.output)
    assert said.startswith("Interrupted.") and state in said, said
    assert "unexpected" not in said
    assert snapshot(db) == before


def test_ctrl_c_while_collecting_says_interrupted(db: Path, monkeypatch: pytest.MonkeyPatch):
    import carebench.collect_cli as collect_cli

    monkeypatch.setattr(collect_cli, "load_brand_config", _raise(KeyboardInterrupt()))
    result = invoke("collect", "bluesky", "--handle", "acme.bsky.social", "--db", str(db))
    no_traceback(result)
    assert result.exit_code == 130
    assert one_line(result.output).startswith("Interrupted. The store is unchanged")


def test_ctrl_c_during_startup_prints_no_traceback(db: Path):
    before = snapshot(db)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "carebench", "scorecard", "--db", str(db)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(0.3)  # importing pandas, DuckDB and numba takes about a second
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.startswith("Interrupted.") and "Traceback" not in err
    assert snapshot(db) == before


# -- a full disk -----------------------------------------------------------------------------


class _DiskFullOnCommit:
    """A DuckDB connection whose COMMIT fails the way a full disk makes it fail: the
    transaction is gone, so a ROLLBACK after it fails as well."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.strip().upper() == "COMMIT":
            self._con.execute("ROLLBACK")
            raise duckdb.IOException(
                'IO Error: Could not write file "store.duckdb.wal": No space left on device'
            )
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def test_a_full_disk_is_reported_as_such(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    before = snapshot(db)
    more = tmp_path / "more.csv"
    more.write_text(TWCS.replace("\n1,", "\n11,"), encoding="utf-8")
    real_connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: _DiskFullOnCommit(real_connect(*a, **k)))
    result = invoke("import", "twcs", str(more), "--db", str(db))
    monkeypatch.undo()
    no_traceback(result)
    assert result.exit_code == 1
    said = one_line(result.output)
    assert f"No space left on device while writing {db}" in said, said
    assert "free space or use --db on another disk; the store is unchanged" in said
    assert "rollback" not in said
    assert snapshot(db) == before


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs (needs root and mount); skipped where mounting is not permitted."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        timeout=10,
    )
    if made.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, timeout=10)


def test_a_really_full_disk_is_reported_as_such(db: Path, tmp_path: Path, tiny_disk: Path):
    store = tiny_disk / "store.duckdb"
    shutil.copy(db, store)
    before = snapshot(store)
    data = tmp_path / "generated.csv"
    assert invoke("generate", "-o", str(data), "--posts", "20000").exit_code == 0
    result = invoke("import", "twcs", str(data), "--db", str(store))
    no_traceback(result)
    assert result.exit_code == 1
    said = one_line(result.output)
    assert f"No space left on device while writing {store}" in said, said
    assert snapshot(store) == before


def test_disk_full_is_recognised_from_the_errno():
    from carebench.store import store_failure

    error = OSError(errno.ENOSPC, "No space left on device")
    assert str(store_failure("s.duckdb", error)).startswith("No space left on device")


# -- SLA minutes -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "-inf", "1e300"])
@pytest.mark.parametrize("command", [["scorecard"], ["export", "scorecard", "-o", "OUT"]])
def test_sla_minutes_must_be_a_positive_finite_number(
    db: Path, tmp_path: Path, value: str, command: list[str]
):
    out = tmp_path / "out.csv"
    args = [str(out) if a == "OUT" else a for a in command]
    result = invoke(*args, "--db", str(db), "--sla-minutes", value)
    no_traceback(result)
    assert result.exit_code == 1
    said = one_line(result.output)
    assert "--sla-minutes" in said and "above 0" in said and "--sla-minutes 60" in said
    assert not out.exists()


# -- anything else ---------------------------------------------------------------------------


def test_an_unexpected_error_says_where_to_report_it(db: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cli_compare, "analyse_store", _raise(ValueError("boom")))
    monkeypatch.delenv("CAREBENCH_DEBUG", raising=False)
    result = invoke("scorecard", "--db", str(db))
    no_traceback(result)
    assert result.exit_code == 1
    said = one_line(result.output)
    assert "unexpected error (ValueError: boom)" in said
    assert "bug in CareBench" in said and "report it" in said and "CAREBENCH_DEBUG=1" in said


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf"])
def test_a_dashboard_link_with_a_bad_sla_says_so_and_keeps_the_default(value: str):
    from carebench.dashboard.filters import DEFAULT_SLA_MINUTES, parse_query

    from .test_dashboard_helpers import OPTIONS

    parsed, problems = parse_query({"sla": [value]}, OPTIONS)
    assert parsed.sla_minutes == DEFAULT_SLA_MINUTES
    assert problems == [f"sla={value!r} is not a number of minutes above 0"]
