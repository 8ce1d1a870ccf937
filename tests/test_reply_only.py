"""A store of brand replies only (../shared/data/twcs/brand_replies): no conversation can
be measured, and the dashboard says why while showing templates and reply style.

Three of the real files (Nike, Walmart, RBC): every reply of those brands, without the
customers' tweets they answer.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from carebench.benchmark.reply_style import COLUMNS, reply_style
from carebench.ingest import import_twcs_files
from carebench.store import Store
from tests.conftest import TWCS_DIR, private_copy

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGES = "carebench/dashboard/pages"
TIMEOUT = 120
FILES = ("NikeSupport.csv", "Walmart.csv", "AskRBC.csv")


@pytest.fixture(scope="module")
def replies_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    paths = [TWCS_DIR / "brand_replies" / name for name in FILES]
    if not all(p.exists() for p in paths):
        pytest.skip("real data ../shared/data/twcs/brand_replies is absent")
    path = tmp_path_factory.mktemp("replies") / "replies.duckdb"
    with Store(path) as store:
        import_twcs_files(store, paths)
    return path


@pytest.fixture
def store(replies_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_copy(replies_store, tmp_path, monkeypatch)


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    if page != "scorecard":
        at.switch_page(f"{PAGES}/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def said(at: AppTest) -> str:
    kinds = ("info", "warning", "markdown", "caption")
    return "\n".join(str(e.value) for kind in kinds for e in at.get(kind))


@pytest.mark.parametrize("page", ["scorecard", "speed", "deflection", "conversations", "trends"])
def test_conversation_pages_say_why_they_are_empty(store: Path, page: str):
    at = run(page)
    text = said(at) + "\n".join(c.value for c in at.sidebar.caption)
    assert "no customer post opens a conversation" in text
    assert "No brands yet" not in text and "No conversation matches" not in text
    with Store(store, read_only=True) as opened:
        assert f"holds {opened.count_posts():,} posts" in text
    # The brands that wrote the posts are in the sidebar.
    assert set(at.sidebar.selectbox(key="flt_focus").options) == {
        "NikeSupport",
        "Walmart",
        "AskRBC",
    }


def test_templates_and_reply_style_are_shown(store: Path):
    at = run("templates")
    assert at.selectbox(key="templates_brand").value == "NikeSupport"
    assert any("posts** ·" in m.value for m in at.markdown), "template cards"
    data = run("data")
    assert any("· 3 brands" in c.value for c in data.caption)
    style = next(d.value for d in data.dataframe if "Brand posts" in d.value.columns)
    assert list(style.columns) == list(COLUMNS)
    with Store(store, read_only=True) as opened:
        counts = opened.con.execute(
            "SELECT brand, count(*) FROM posts WHERE author_role = 'brand' GROUP BY brand"
        ).fetchall()
    assert dict(zip(style["Brand"], style["Brand posts"], strict=True)) == dict(counts)


def test_reply_style_counts_signals_per_brand():
    posts = pd.DataFrame(
        {
            "brand": ["A", "A", "A", "B"],
            "author_role": ["brand"] * 4,
            "text": [
                "@1 Hi Sarah, so sorry about this! Please DM us. ^AB",
                "@2 Thanks for reaching out. -Becky",
                "@3 We apologise for any inconvenience this may have caused.",
                "@4 Call us on 1-800-555-0142.",
            ],
        }
    )
    table = reply_style(posts).set_index("Brand")
    assert table.loc["A", "Brand posts"] == 3
    assert table.loc["A", "Signed by an agent (%)"] == pytest.approx(200 / 3)
    assert table.loc["A", "Customer named (%)"] == pytest.approx(100 / 3)
    assert table.loc["B", "Sends elsewhere (%)"] == 100
