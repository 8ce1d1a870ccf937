"""Anonymise on real data: no post id on any page, in the address or in any CSV download.

The first 5,000 posts of TWCS (../shared/data) in a store; every page runs in AppTest
with anonymise on, a thread open (by a raw id in the link, as one copied before
anonymising), a pin and a drill-down. A public post id leads to its author, so none may
show: not as ``twcs:<id>`` (the stored form) and not in any id column of a CSV.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from carebench.dashboard import data as dashboard_data
from carebench.ingest import import_twcs_files
from carebench.store import Store
from tests.conftest import private_copy, twcs_file

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGES = ("scorecard", "speed", "deflection", "templates", "conversations", "trends", "data")
TIMEOUT = 120
STORED_ID = re.compile(r"twcs:\d+")
PSEUDONYM = re.compile(r"(?:post|customer)-[0-9a-f]+")


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("real") / "head.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [twcs_file("twcs_head_5k.csv")])
    return path


@pytest.fixture(scope="module")
def raw_ids(real_store: Path) -> set[str]:
    turns = dashboard_data.read_store(real_store).analysis.turns
    return set(turns["post_id"].astype(str))


@pytest.fixture
def store(real_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = private_copy(real_store, tmp_path, monkeypatch)
    conversations = dashboard_data.read_store(path).analysis.conversations
    dashboard_data.wait_for_reads(path)  # the turns are read in the background
    # A pinned thread, so the pin table and the full-thread CSV are downloads too.
    busiest = conversations.sort_values("brand_posts", ascending=False).iloc[0]
    with Store(path) as opened:
        opened.pin("twitter", str(busiest["conversation_id"]), str(busiest["brand"]), "see")
    return path


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    made: dict[str, Any] = {}
    original = DeltaGenerator.download_button

    def record(self: DeltaGenerator, label: str, data: Any, file_name: Any = None, *a, **k):
        if str(file_name).endswith(".csv"):
            made[str(file_name)] = data
        return original(self, label, data, file_name, *a, **k)

    monkeypatch.setattr(DeltaGenerator, "download_button", record)
    main = streamlit._main
    monkeypatch.setattr(streamlit, "download_button", lambda *a, **k: record(main, *a, **k))
    yield made


def screen(at: AppTest) -> str:
    kinds = ("text", "markdown", "caption", "title", "html", "info", "warning", "metric")
    parts = [str(getattr(e, "value", "")) for kind in kinds for e in at.get(kind)]
    parts += [frame.value.to_csv(index=False) for frame in at.dataframe]
    parts += [str(box.options) + str(box.value) for box in at.selectbox]
    parts += [link.proto.query_string for link in at.page_link]
    return "\n".join(parts)


def leaks(text: str, raw_ids: set[str]) -> set[str]:
    return set(STORED_ID.findall(text)) & raw_ids


def csv_leaks(name: str, data: Any, raw_ids: set[str]) -> list[str]:
    value = data() if callable(data) else data
    text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
    found = [f"{name}: {x}" for x in leaks(text, raw_ids)]
    frame = pd.read_csv(io.StringIO(text), dtype=str)
    for column in frame.columns:
        if column.lower() in ("post_id", "conversation_id", "customer", "customer_id"):
            values = frame[column].dropna()
            found += [f"{name}: {column}={v}" for v in values[~values.str.fullmatch(PSEUDONYM)]]
    return found


@pytest.mark.parametrize("page", PAGES)
def test_no_post_id_on_screen_in_the_address_or_in_a_download(
    store: Path, raw_ids: set[str], downloads: dict[str, Any], page: str
):
    conversations = dashboard_data.read_store(store).analysis.conversations
    linked = str(conversations.sort_values("opened_at").iloc[-1]["conversation_id"])
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"anon": "1", "thread": linked, "thread_platform": "twitter"})
    at.run()
    if page != "scorecard":
        at.switch_page(f"carebench/dashboard/pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    if page == "conversations":
        # The pin's thread opened too, so its turns are on screen.
        pins = next(d for d in at.dataframe if d.key == "conv_pins_list")
        at.session_state[pins.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
        at.run()
        assert len(at.html) >= 2
        assert {"conversations.csv", "workshop-pins.csv", "workshop-threads.csv"} <= set(downloads)
    address = "&".join(f"{k}={v}" for k, v in at.query_params.items())
    assert not leaks(screen(at), raw_ids), page
    assert not leaks(address, raw_ids), address
    assert at.query_params["thread"].startswith("post-")
    problems = [p for name, data in downloads.items() for p in csv_leaks(name, data, raw_ids)]
    assert not problems, problems[:5]


def test_the_fixture_is_fair_without_anonymise(
    store: Path, raw_ids: set[str], downloads: dict[str, Any]
):
    # Plain, the same page does show stored ids: the check above can see a leak.
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("carebench/dashboard/pages/conversations.py").run()
    assert leaks(screen(at), raw_ids)
    assert csv_leaks("conversations.csv", downloads["conversations.csv"], raw_ids)
