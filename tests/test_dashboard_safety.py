"""The dashboard as an untrusted audience meets it: downloads safe to open in a
spreadsheet, data never read as markdown, no tracebacks or server paths on screen, and
the settings that keep it on this computer.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit
from markdown_it import MarkdownIt
from streamlit.config import ShowErrorDetailsConfigOptions
from streamlit.testing.v1 import AppTest

from carebench.benchmark.csv_safety import FORMULA_TRIGGERS
from carebench.dashboard import aggregates as agg
from carebench.dashboard import data as dashboard_data
from carebench.dashboard.escaping import file_name, md, without_folders
from carebench.dashboard.page_guard import PAGE_FAILED
from carebench.errors import UnreadableFile
from carebench.ingest import import_files
from carebench.store import Store
from carebench.synthetic import generate
from tests.test_csv_safety import BRAND, TEMPLATE, hostile_twcs

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "streamlit_app.py"
PAGES = "carebench/dashboard/pages"
TIMEOUT = 90
# A post id that, read as markdown, makes the browser fetch an image from elsewhere.
IMAGE_ID = "![b](http://attacker.example/x.png)"
HOSTILE_POSTS_CSV = (
    "platform,post_id,parent_id,author_id,author_role,brand,created_at,text\n"
    f'bluesky,"{IMAGE_ID}",,jo.example,customer,,2017-12-31T09:00:00Z,my card is blocked\n'
    f'bluesky,reply-1,"{IMAGE_ID}",acme.example,brand,"{BRAND.replace(chr(34), 2 * chr(34))}",'
    "2017-12-31T09:20:00Z,so sorry: please DM us\n"
)


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 generated posts, a brand named like a formula with a formula template, and a
    conversation whose id is a markdown image."""
    folder = tmp_path_factory.mktemp("safety")
    generated = folder / "small.csv"
    generate(generated, posts=3000, seed=11)
    posts_csv = folder / "posts.csv"
    posts_csv.write_text(HOSTILE_POSTS_CSV, encoding="utf-8")
    path = folder / "small.duckdb"
    with Store(path) as store:
        import_files(store, "twcs", [generated, hostile_twcs(folder / "h.csv", 900_001)])
        import_files(store, "csv", [posts_csv])
    return path


@pytest.fixture
def store(hostile_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "private" / "folder" / "store.duckdb"
    path.parent.mkdir(parents=True)
    shutil.copy(hostile_store, path)
    monkeypatch.setenv("CAREBENCH_DB", str(path))
    return path


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"focus": BRAND, **(query or {})})
    at.run()
    if page != "scorecard":
        at.switch_page(f"{PAGES}/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def markdown_shown(at: AppTest) -> list[str]:
    """Every string the page hands to Streamlit's markdown renderer."""
    elements = (
        *at.markdown, *at.caption, *at.title, *at.header, *at.subheader, *at.toast,
        *at.success, *at.info, *at.warning, *at.error,
    )  # fmt: skip
    return [str(e.value) for e in elements]


def links_and_images(markdown: str) -> list[str]:
    """The link and image elements a CommonMark renderer makes of a markdown string."""
    found = []
    for block in MarkdownIt("commonmark", {"linkify": False}).parse(markdown):
        for token in block.children or []:
            if token.type in ("image", "link_open"):
                found.append(token.type)
    return found


# -- CSV downloads -------------------------------------------------------------------------


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CSV data of every download button the pages draw, by file name."""
    captured: dict[str, str] = {}
    original = streamlit.download_button

    def recording(label: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        name = str(kwargs.get("file_name", ""))
        if name.endswith(".csv"):
            captured[name] = data() if callable(data) else data
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    return captured


@pytest.mark.parametrize("page", ["scorecard", "templates", "conversations", "data"])
def test_dashboard_csv_downloads_neutralise_formulas(
    store: Path, downloads: dict[str, str], page: str
):
    at = open_page(page)
    if page == "templates":
        assert at.selectbox(key="templates_brand").value == BRAND
    assert downloads, f"{page} offers no CSV download"
    everything = "\n".join(downloads.values())
    for name, text in downloads.items():
        for row in csv.reader(io.StringIO(text, newline="")):
            for cell in row:
                # A negative number (a difference, a change) is a number, not a formula:
                # csv_safety leaves numeric columns alone.
                assert not cell.startswith(FORMULA_TRIGGERS) or _is_number(cell), (name, cell)
    if page in ("scorecard", "templates", "conversations"):
        assert "'" + BRAND in everything.replace('""', '"')
    if page == "templates":
        template_csv = downloads[next(n for n in downloads if n.startswith("templates-"))]
        frame = pd.read_csv(io.StringIO(template_csv), dtype=str)
        assert "'" + TEMPLATE in frame.to_numpy().ravel().tolist()


# -- markdown escaping -----------------------------------------------------------------


LINKING = [IMAGE_ID, "[x](http://attacker.example/)", "<http://attacker.example/>", "[a]: /x\n[a]"]


@pytest.mark.parametrize("text", LINKING)
def test_md_leaves_nothing_for_markdown_to_read(text: str):
    assert links_and_images(text), "the raw text is markdown that links"
    assert links_and_images(md(text)) == []
    assert md(text).replace("\\", "") == text.replace("\n", " ")


def test_md_escapes_streamlit_s_own_syntax():
    # Colours, icons, emoji shortcodes and LaTeX start with `:` or `$`: all escaped.
    for text in (":red[big]", ":material/warning:", ":smile:", "$x^2$", BRAND):
        escaped = md(text)
        specials = [i for i, c in enumerate(escaped) if c in ':$[("=']
        assert specials and all(escaped[i - 1] == "\\" for i in specials), escaped
    # Line breaks cannot end the paragraph and start a block of their own.
    assert "\n" not in md("a\n\n# heading\r\n![b](http://x/y.png)")


def test_the_pin_toast_shows_a_hostile_id_as_text(store: Path):
    at = open_page("conversations", {"thread_platform": "bluesky"})
    # Opened by clicking its row in the list.
    listed = next(d for d in at.dataframe if d.key and d.key.startswith("conv_list_"))
    row = listed.value["conversation_id"].astype(str).tolist().index(IMAGE_ID)
    at.session_state[listed.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.button(key="conv_thread_pin").click().run()
    assert not at.exception, [e.message for e in at.exception]
    toasts = [str(t.value) for t in at.toast]
    assert toasts, "pinning shows a toast"
    assert any(md(IMAGE_ID) in t for t in toasts), toasts
    for shown in markdown_shown(at):
        assert links_and_images(shown) == [], shown
    with Store(store, read_only=True) as reopened:
        assert reopened.pins()["conversation_id"].tolist() == [IMAGE_ID]


@pytest.mark.parametrize("page", ["scorecard", "speed", "templates", "deflection", "trends"])
def test_pages_show_a_hostile_brand_name_as_text(store: Path, page: str):
    at = open_page(page)
    shown = markdown_shown(at)
    if page in ("scorecard", "speed", "templates"):
        assert any(md(BRAND) in s for s in shown), shown
    for text in shown:
        assert links_and_images(text) == [], text


# -- errors and paths --------------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_failing_page_shows_a_message_not_a_traceback(
    store: Path, monkeypatch: pytest.MonkeyPatch
):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom in {store.parent}/secret.py")

    monkeypatch.setattr(agg, "kpi_tiles", broken)
    monkeypatch.delenv("CAREBENCH_DEBUG")  # as for a user: no traceback shown
    log = Records()
    logging.getLogger("carebench.dashboard").addHandler(log)
    try:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    finally:
        logging.getLogger("carebench.dashboard").removeHandler(log)
    # The traceback is in the server's log...
    failures = [r for r in log.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert failures and "Scorecard" in failures[0].getMessage()
    # ...and not in the browser.
    assert not at.exception, "the traceback must not reach the browser"
    errors = [str(e.value) for e in at.error]
    assert errors == [PAGE_FAILED]
    every = "\n".join(markdown_shown(at))
    assert str(store.parent) not in every and "boom" not in every and "Traceback" not in every
    # The page still stopped where it failed, and the sidebar still works.
    assert at.title[0].value == "Scorecard"


def test_the_data_page_names_files_not_server_folders(store: Path):
    at = open_page("data")
    every = "\n".join(markdown_shown(at))
    for frame in at.dataframe:
        every += frame.value.to_csv(index=False)
    assert "store.duckdb" in every
    assert str(store.parent) not in every and "private/folder" not in every
    assert str(REPO) not in every


def test_a_300_character_upload_name_gives_a_clear_message(store: Path, tmp_path: Path):
    csv_path = tmp_path / "upload.csv"
    generate(csv_path, posts=50, seed=5)
    long_name = "q" * 296 + ".csv"
    with pytest.raises(UnreadableFile, match=r"too long \(300 characters\).*Rename the file"):
        dashboard_data.import_uploads(store, [(long_name, csv_path.read_bytes())])
    at = open_page("data")
    before = dashboard_data.read_store(store).posts
    at.file_uploader(key="upload_files").set_value((long_name, csv_path.read_bytes(), "text/csv"))
    at.button[-1].click().run()
    assert not at.exception, [e.message for e in at.exception]
    errors = [str(e.value).replace("\\", "") for e in at.error]
    assert len(errors) == 1 and "too long (300 characters)" in errors[0], errors
    assert "carebench-upload" not in errors[0] and "/tmp" not in errors[0]
    assert dashboard_data.read_store(store).posts == before


def test_escaping_helpers_keep_file_names_only(tmp_path: Path):
    assert file_name("/home/ana/clients/acme/store.duckdb") == "store.duckdb"
    assert file_name(r"C:\Users\ana\store.duckdb") == "store.duckdb"
    message = f"Cannot open {tmp_path}/deep/store.duckdb: locked."
    assert without_folders(message, tmp_path / "deep" / "store.duckdb") == (
        "Cannot open store.duckdb: locked."
    )


# -- Streamlit settings ------------------------------------------------------------------


def test_streamlit_config_keeps_the_dashboard_private():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "viewer"
    assert "none" in {o.value for o in ShowErrorDetailsConfigOptions}


def streamlit_address(*flags: str, env: dict[str, str] | None = None) -> str:
    """The server address Streamlit resolves when started from the repository."""
    shown = subprocess.run(
        [sys.executable, "-m", "streamlit", "config", "show", *flags],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    found = re.search(r'^address = "([^"]*)"', shown, re.MULTILINE)
    assert found, shown
    return found.group(1)


def test_sharing_on_a_network_is_one_flag_or_variable_away(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    assert streamlit_address() == "127.0.0.1"
    # Both beat config.toml (Streamlit: file < environment variable < command-line flag).
    assert streamlit_address(env={"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}) == "0.0.0.0"
    assert streamlit_address("--server.address", "0.0.0.0") == "0.0.0.0"
