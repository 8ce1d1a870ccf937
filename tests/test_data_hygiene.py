"""Data hygiene: outlier dates are flagged and left out of the default range, mixed
sources are flagged and can be filtered, on the real TWCS head sample (../shared/data).

The first 5,000 TWCS posts open 1,288 conversations, all in Sep-Dec 2017 but for five
stray ones (2011-08-29, 2016-08-06, 2017-08-08, 2017-08-15, 2017-09-06) that used to
stretch the default date range back to 2011.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from carebench.benchmark.quality import (
    bulk_span,
    conversation_sources,
    date_outliers,
    hygiene_issues,
    year_spans,
)
from carebench.dashboard import data as dashboard_data
from carebench.ingest import import_twcs_files
from carebench.store import Store
from carebench.synthetic import generate
from tests.conftest import private_copy, twcs_file

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
TIMEOUT = 120
STRAYS = ["2011-08-29", "2016-08-06", "2017-08-08", "2017-08-15", "2017-09-06"]


@pytest.fixture(scope="module")
def head_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hygiene") / "head.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [twcs_file("twcs_head_5k.csv")])
    return path


@pytest.fixture(scope="module")
def mixed_store(head_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The head sample plus a generated file: two sources."""
    folder = tmp_path_factory.mktemp("mixed")
    generated = folder / "generated.csv"
    generate(generated, posts=1500, seed=5)
    path = folder / "mixed.duckdb"
    shutil.copy(head_store, path)
    with Store(path) as store:
        import_twcs_files(store, [generated])
    return path


def conversations_of(path: Path) -> pd.DataFrame:
    return dashboard_data.read_store(path).analysis.conversations


def test_the_bulk_leaves_out_only_the_stray_conversations(head_store: Path):
    conversations = conversations_of(head_store)
    outliers = date_outliers(conversations)
    assert sorted(outliers["opened_at"].dt.strftime("%Y-%m-%d")) == STRAYS
    first, last = bulk_span(conversations["opened_at"])
    assert (first.date(), last.date()) == (date(2017, 9, 26), date(2017, 12, 2))
    issues = hygiene_issues(conversations).set_index("Check")
    assert issues.loc["outlier dates", "Count"] == 5
    assert "29 Aug 2011" in issues.loc["outlier dates", "Meaning"]


def test_evenly_spread_data_keeps_every_day():
    days = pd.Series(pd.date_range("2017-01-01", "2017-03-31 23:00", freq="7h", tz="UTC"))
    first, last = bulk_span(days)
    assert first == days.min() and last == days.max()
    assert date_outliers(pd.DataFrame({"opened_at": days})).empty
    assert year_spans(pd.Series([2011, 2016, 2017, 2019, 2018])) == "2011, 2016-2019"


def test_the_default_dates_cover_the_bulk_and_say_what_they_leave_out(
    head_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    private_copy(head_store, tmp_path, monkeypatch)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    filters = at.session_state["carebench_filters"]
    assert (filters.start, filters.end) == (date(2017, 9, 26), date(2017, 12, 2))
    assert at.query_params["from"] == "2017-09-26"
    notes = [c.value for c in at.sidebar.caption]
    assert any("Leaves out 5 conversations" in n and "29 Aug 2011" in n for n in notes), notes
    # The Data page flags them and lists them.
    at.switch_page("carebench/dashboard/pages/data.py").run()
    assert not at.exception, [e.message for e in at.exception]
    quality = next(d.value for d in at.dataframe if "Check" in d.value.columns)
    flagged = quality.set_index("Check")
    assert flagged.loc["outlier dates", "Count"] == 5
    listed = next(d.value for d in at.dataframe if "first post" in d.value.columns)
    assert sorted(pd.to_datetime(listed["opened"]).dt.strftime("%Y-%m-%d")) == STRAYS


def test_mixed_sources_are_flagged_and_filtered_per_source(
    mixed_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    conversations = conversations_of(mixed_store)
    with Store(mixed_store, read_only=True) as store:
        sources = conversation_sources(store, conversations)
    assert set(sources) == {"twcs_head_5k.csv", "generated.csv"}
    issues = hygiene_issues(conversations, sources).set_index("Check")
    assert issues.loc["mixed sources", "Count"] == 2

    private_copy(mixed_store, tmp_path, monkeypatch)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    box = at.sidebar.multiselect(key="flt_sources")
    assert sorted(box.options) == ["generated.csv", "twcs_head_5k.csv"]
    box.set_value(["twcs_head_5k.csv"]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.query_params["source"] in ("twcs_head_5k.csv", ["twcs_head_5k.csv"])
    filters = at.session_state["carebench_filters"]
    assert filters.sources == ("twcs_head_5k.csv",)
    # Only that source's conversations are in the view (the Conversations page counts them).
    at.switch_page("carebench/dashboard/pages/conversations.py").run()
    keep = dashboard_data.conversation_mask(conversations, filters) & (
        sources == "twcs_head_5k.csv"
    ).to_numpy(dtype=bool)
    shown = f"of {int(keep.sum()):,} conversations match"
    assert any(shown in m.value for m in at.markdown), [m.value for m in at.markdown][:5]


def test_slow_sources_do_not_hold_the_first_page_but_a_source_link_waits_for_them(
    mixed_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Reading each conversation's source takes seconds on a big store of several files:
    the first page goes on without the source filter, a link filtering by source waits."""
    import threading

    path = private_copy(mixed_store, tmp_path, monkeypatch)
    release = threading.Event()
    read_sources = dashboard_data._read_sources

    def slow(path: Path, conversations: pd.DataFrame) -> pd.Series:
        release.wait(30)
        return read_sources(path, conversations)

    monkeypatch.setattr(dashboard_data, "_read_sources", slow)
    try:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        assert not [m for m in at.sidebar.multiselect if m.key == "flt_sources"]
        assert at.title[0].value == "Scorecard"
    finally:
        release.set()
    dashboard_data.wait_for_reads(path)
    at.run()  # read meanwhile: the filter is offered
    assert sorted(at.sidebar.multiselect(key="flt_sources").options) == [
        "generated.csv",
        "twcs_head_5k.csv",
    ]
    # A link naming a source waits for the sources and applies the filter.
    dashboard_data._cached_sources.clear()
    release.clear()
    threading.Timer(1.0, release.set).start()
    linked = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    linked.query_params["source"] = "generated.csv"
    linked.run()
    assert not linked.exception, [e.message for e in linked.exception]
    assert linked.session_state["carebench_filters"].sources == ("generated.csv",)
