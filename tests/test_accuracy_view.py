"""The "How we measure" page: the published accuracy figures, read back from the package.

The figures come from a small CSV fixture in the format `carebench validate -o` writes
(tests/fixtures/accuracy/published_accuracy.csv), put in place of the package's file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from carebench.benchmark.exports import write_csv
from carebench.benchmark.validation import validate
from carebench.dashboard import accuracy
from tests.conftest import generated_store, private_copy

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
PAGE = "carebench/dashboard/pages/measure.py"
FIXTURE = Path(__file__).parent / "fixtures" / "accuracy" / "published_accuracy.csv"
TIMEOUT = 60


def test_the_table_reads_each_figure_with_its_interval_and_n():
    figures = accuracy.load_published(FIXTURE)
    assert figures is not None
    table = accuracy.accuracy_table(figures).set_index("Figure")
    # All sources first, then each labelled source file.
    assert list(table.columns) == ["All sources", "ibm_care/dev.json", "twcs/twcs_head_5k.csv"]
    assert list(table.index) == [f.label for f in accuracy.FIGURES]
    assert table.loc["Care request F1", "All sources"] == "0.94 (0.91-0.96), n=400"
    assert table.loc["Deflection precision", "All sources"] == "0.90 (0.85-0.93), n=200"
    assert table.loc["First-touch deflection F1", "All sources"] == "0.86 (0.81-0.90), n=310"
    assert table.loc["Empathy accuracy", "All sources"] == "0.92 (0.89-0.94), n=300"
    assert table.loc["Outcome accuracy", "ibm_care/dev.json"] == "0.55 (0.45-0.65), n=100"
    assert table.loc["Resolved recall", "All sources"] == "0.52 (0.44-0.60), n=140"
    assert table.loc["Unresolved recall", "All sources"] == "0.30 (0.20-0.42), n=60"
    # Nothing to measure (n = 0) and a figure the file does not hold are told apart.
    assert table.loc["Deflection F1", "ibm_care/dev.json"] == "— (n=0)"
    assert table.loc["Empathy accuracy", "twcs/twcs_head_5k.csv"] == "not measured"


def test_the_package_file_is_found_through_importlib_resources():
    found = accuracy.published_file()
    assert found.name == accuracy.PUBLISHED_FILE
    assert Path(str(found)).parent == ROOT / "carebench"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"published_accuracy.csv"' in pyproject  # shipped as package data


def test_a_missing_file_is_none_and_a_broken_one_names_the_fix(tmp_path: Path):
    assert accuracy.load_published(tmp_path / "published_accuracy.csv") is None
    broken = tmp_path / "published_accuracy.csv"
    broken.write_text("source,field,value\nall,outcome,0.5\n", encoding="utf-8")
    with pytest.raises(accuracy.BadAccuracyFile, match="no measure, low, high, n column"):
        accuracy.load_published(broken)


def test_what_validate_writes_is_what_the_page_reads(tmp_path: Path):
    conversations = pd.DataFrame(
        {
            "platform": ["twitter"] * 4,
            "conversation_id": ["1", "2", "3", "4"],
            "care_request": [True, True, True, False],
            "deflected": [True, False, True, False],
            "first_touch_deflection": [True, False, False, False],
            "empathy_first_reply": [True, False, True, False],
            "deflection_channels": ["dm", None, "phone", None],
            "outcome": ["unknown", "resolved", "unresolved", "unknown"],
        }
    )
    labels = conversations.drop(columns=["deflection_channels"]).assign(
        source="twcs/twcs_head_5k.csv",
        channels=[["dm"], [], ["phone"], []],
        outcome=["unknown", "resolved", "resolved", "unknown"],
    )
    written = tmp_path / "published_accuracy.csv"
    write_csv(validate(conversations, labels).figures, written)
    table = accuracy.accuracy_table(accuracy.load_published(written)).set_index("Figure")
    assert table.loc["Deflection F1", "All sources"].startswith("1.00")
    assert table.loc["Outcome accuracy", "All sources"].endswith("n=3")
    assert table.loc["Resolved recall", "All sources"].startswith("0.50")


# -- the page ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_store(tmp_path_factory.mktemp("measure"), posts=600, seed=5)


@pytest.fixture
def store(small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_copy(small_store, tmp_path, monkeypatch)


def open_page(monkeypatch: pytest.MonkeyPatch, published: Path) -> AppTest:
    # The page reads the package's file; here it reads the test's instead.
    monkeypatch.setattr(accuracy, "published_file", lambda: published)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_page_shows_the_published_figures(store: Path, monkeypatch: pytest.MonkeyPatch):
    at = open_page(monkeypatch, FIXTURE)
    assert at.title[0].value == "How we measure"
    assert not at.error, [e.value for e in at.error]
    shown = at.dataframe[0].value.set_index("Figure")
    assert shown.loc["Deflection F1", "All sources"] == "0.89 (0.85-0.92), n=310"
    assert shown.loc["Outcome accuracy", "twcs/twcs_head_5k.csv"] == "0.64 (0.57-0.70), n=190"
    words = " ".join(m.value for m in at.markdown)
    assert "brand" in words and "test half" in words
    assert "Outcome labels are the least certain" in words


def test_without_the_file_the_page_says_so(
    store: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    at = open_page(monkeypatch, tmp_path / "published_accuracy.csv")
    assert not at.error and not at.dataframe
    assert any("no published accuracy figures" in i.value for i in at.info)
    # The explanation is still there: what the figures would mean.
    assert any("Outcome labels are the least certain" in m.value for m in at.markdown)


def test_a_broken_file_is_a_plain_message(
    store: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    broken = tmp_path / "published_accuracy.csv"
    broken.write_text("not,the,format\n1,2,3\n", encoding="utf-8")
    at = open_page(monkeypatch, broken)
    (message,) = [e.value for e in at.error]
    assert "has no" in message and "carebench validate" in message
    assert not at.dataframe
