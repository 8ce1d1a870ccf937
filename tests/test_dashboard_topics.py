"""The Recurring issues page on real data: the figures it shows are the topic table's."""

from __future__ import annotations

from pathlib import Path

import pytest

from carebench.benchmark.topics import topic_table
from carebench.dashboard import data as dashboard_data
from carebench.ingest import import_twcs_files
from carebench.store import Store
from tests.conftest import private_copy, twcs_file
from tests.test_dashboard_app import run_page, shown_text


@pytest.fixture(scope="module")
def head_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("topics-page") / "head.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [twcs_file("twcs_head_5k.csv")])
    return path


@pytest.mark.realdata
def test_the_focus_brands_topics_are_the_topic_tables(head_store, tmp_path, monkeypatch):
    path = private_copy(head_store, tmp_path, monkeypatch)
    at = run_page("topics", {"focus": "AmazonHelp", "vs": "AppleSupport,Delta"})
    assert not at.error, [e.value for e in at.error]
    filters = at.session_state["carebench_filters"]
    loaded = dashboard_data.read_store(path)
    conversations = dashboard_data.filter_conversations(loaded.analysis.conversations, filters)
    care = conversations[conversations["care_request"]]
    expected = topic_table(care, None)
    amazon = expected[expected["brand"] == "AmazonHelp"]
    table = next(f.value for f in at.dataframe if "Topic" in f.value.columns)
    assert table["Topic"].tolist() == amazon["topic"].tolist()
    assert table["Care requests"].tolist() == amazon["care_requests"].tolist()
    # Delivery is AmazonHelp's first topic in the head sample, and it recurs there.
    assert table["Topic"].iloc[0] == "delivery"
    text = shown_text(at)
    assert "Delivery** came up in" in text
    # The taxonomy's misses are grouped into themes, with examples, found on request (a
    # page change never waits for them), then kept while the brands stay.
    assert not at.expander
    at.button(key="topics_find_themes").click().run()
    assert at.expander and all(e.label.startswith("Theme ") for e in at.expander)
    at.selectbox(key="topics_compare").set_value("billing").run()
    assert at.expander and not [b for b in at.button if b.key == "topics_find_themes"]
