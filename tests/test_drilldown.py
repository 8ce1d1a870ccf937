"""From a figure to its threads: a drill-down lists exactly the conversations a figure counts.

The unit tests check `drilldown.drill_conversations` against the scorecard's own n, per
tile, per week and per hour-of-week cell, with ids recomputed from each metric's
definition; the AppTest ones follow a Scorecard tile's link and a ranking row to the
Conversations page and compare what it lists (screen and CSV) with the figure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.settings import Settings
from carebench.dashboard import aggregates as agg
from carebench.dashboard import data as dashboard_data
from carebench.dashboard.drilldown import (
    Drill,
    drill_conversations,
    drill_size,
    parse_query,
    to_query,
)
from tests.conftest import generated_store, private_copy

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
CONVERSATIONS = "carebench/dashboard/pages/conversations.py"
TIMEOUT = 90
SETTINGS = Settings()


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_store(tmp_path_factory.mktemp("drill"), posts=3000, seed=11)


@pytest.fixture(scope="module")
def conversations(small_store: Path) -> pd.DataFrame:
    c = dashboard_data.read_store(small_store).analysis.conversations
    return c[c["brand"].notna()]


@pytest.fixture
def store(small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_copy(small_store, tmp_path, monkeypatch)


def ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["conversation_id"].astype(str))


# Each tile's conversations, from the metric's definition in METRICS.md / scorecard.py.
def _answered(c: pd.DataFrame) -> pd.Series:
    return c["answered"].astype(bool)


EXPECTED: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "ttfr_median_seconds": lambda c: c["ttfr_seconds"].notna() & (c["ttfr_seconds"] >= 0),
    "sla_share": lambda c: c["ttfr_seconds"].notna() & (c["ttfr_seconds"] >= 0),
    "resolution_rate": lambda c: _answered(c) & c["care_request"].astype(bool),
    "deflection_rate": _answered,
    "empathy_rate": _answered,
}


@pytest.mark.parametrize("metric", [m.column for m in agg.TILE_METRICS])
def test_a_tile_drills_into_exactly_the_conversations_of_its_n(
    conversations: pd.DataFrame, metric: str
):
    card = scorecard(conversations, SETTINGS).set_index("brand")
    for brand in card.index[:4]:
        drilled = drill_conversations(conversations, Drill(metric, brand), SETTINGS)
        n = int(card.loc[brand, f"{metric}_n"])
        own = conversations[conversations["brand"] == brand]
        # The tile's link says how many it lists, counted without copying them.
        for among in (conversations, own):
            for part in ("n", "hits"):
                drill = Drill(metric, brand, part=part)
                listed = drill_conversations(among, drill, SETTINGS).conversations
                assert drill_size(among, drill, SETTINGS) == len(listed), (metric, part)
        if metric == "templated_ratio":
            # A figure over brand posts: the conversations holding them, with that many posts.
            assert int(drilled.conversations["brand_posts"].sum()) == n == drilled.n
            assert ids(drilled.conversations) == ids(own[own["brand_posts"] > 0])
            continue
        assert len(drilled.conversations) == n == drilled.n, (brand, metric)
        assert ids(drilled.conversations) == ids(own[EXPECTED[metric](own)])


def test_the_hits_of_a_rate_are_what_it_counts(conversations: pd.DataFrame):
    card = scorecard(conversations, SETTINGS).set_index("brand")
    brand = card.index[0]
    drilled = drill_conversations(
        conversations, Drill("deflection_rate", brand, part="hits"), SETTINGS
    )
    expected = round(card.loc[brand, "deflection_rate"] * card.loc[brand, "deflection_rate_n"])
    assert len(drilled.conversations) == expected == drilled.hits
    assert drilled.conversations["deflected"].all() and drilled.conversations["answered"].all()
    channel = drill_conversations(
        conversations, Drill("channel_dm_share", brand, part="hits"), SETTINGS
    )
    assert channel.conversations["deflection_channels"].str.contains("dm").all()
    assert channel.n == card.loc[brand, "channel_dm_share_n"]


def test_a_week_of_a_trend_drills_into_that_week(conversations: pd.DataFrame):
    weekly = scorecard(conversations, SETTINGS, period="week")
    for row in weekly.head(6).itertuples():
        start = pd.Timestamp(row.period).date()
        drill = Drill("sla_share", str(row.brand), period="week", start=start)
        drilled = drill_conversations(conversations, drill, SETTINGS)
        assert len(drilled.conversations) == row.sla_share_n
        opened = drilled.conversations["opened_at"].dt.tz_convert("UTC").dt.date
        assert ((opened >= start) & (opened < start + pd.Timedelta(days=7))).all()


def test_a_heatmap_cell_drills_into_that_hour(conversations: pd.DataFrame):
    brand = conversations["brand"].value_counts().index[0]
    own = conversations[conversations["brand"] == brand]
    cells = agg.hour_of_week(own, SETTINGS.sla_seconds)
    busiest = cells.sort_values("conversations").iloc[-1]
    drill = Drill("conversations", brand, cell=int(busiest["how"]))
    drilled = drill_conversations(conversations, drill, SETTINGS)
    assert len(drilled.conversations) == busiest["conversations"] > 0
    speed = drill_conversations(
        conversations, Drill("sla_share", brand, cell=int(busiest["how"])), SETTINGS
    )
    assert len(speed.conversations) == busiest["answered"]


def test_a_drill_round_trips_through_the_address_and_bad_links_say_why():
    drill = Drill("deflection_rate", "Acme & Co", "week", date(2017, 10, 30), 37, "hits")
    assert parse_query(to_query(drill)) == (drill, None)
    assert parse_query({}) == (None, None)
    for bad in (
        {"drill": "no_such_metric", "drill_brand": "A"},
        {"drill": "sla_share"},
        {"drill": "sla_share", "drill_brand": "A", "drill_period": "year:2017"},
        {"drill": "sla_share", "drill_brand": "A", "drill_cell": "200"},
    ):
        found, problem = parse_query(bad)
        assert found is None and problem, bad


# -- in the app -----------------------------------------------------------------------------


def csv_ids(made: dict[str, Any], name: str) -> list[str]:
    data = made[name]
    text = data() if callable(data) else data
    frame = pd.read_csv(pd.io.common.StringIO(str(text)), dtype=str)
    return sorted(frame["conversation_id"])


def test_a_scorecard_tile_link_lists_exactly_its_conversations(
    store: Path, conversations: pd.DataFrame, downloads: dict[str, Any]
):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    focus = at.session_state["carebench_filters"].focus
    links = {dict(parse_qsl(link.proto.query_string)).get("drill"): link for link in at.page_link}
    # Every tile has its link.
    assert {m.column for m in agg.TILE_METRICS} <= set(links)
    link = links["deflection_rate"]
    query = dict(parse_qsl(link.proto.query_string))
    assert query["drill_brand"] == focus
    card = scorecard(conversations, SETTINGS).set_index("brand")
    n = int(card.loc[focus, "deflection_rate_n"])
    assert link.value == f"Show the {n:,} conversations"

    at.switch_page(CONVERSATIONS)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any(f"**{n:,}** of {n:,} conversations match" in m.value for m in at.markdown)
    own = conversations[conversations["brand"] == focus]
    assert csv_ids(downloads, "conversations.csv") == ids(own[own["answered"].astype(bool)])
    # Narrowed to what the figure counts: the deflected ones.
    at.toggle(key="conv_drill_hits").set_value(True).run()
    hits = own[own["answered"].astype(bool) & own["deflected"].astype(bool)]
    assert any(f"**{len(hits):,}** of" in m.value for m in at.markdown)
    assert csv_ids(downloads, "conversations.csv") == ids(hits)
    # And back to every conversation.
    at.button(key="conv_drill_clear").click().run()
    assert "drill" not in at.query_params
    assert not any("Deflected" in i.value for i in at.info)
    assert not any(f"**{n:,}** of {n:,} conversations match" in m.value for m in at.markdown)


def test_a_ranking_row_click_opens_its_brands_conversations(
    store: Path, conversations: pd.DataFrame
):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    ranking = next(d for d in at.dataframe if d.key and d.key.startswith("rows-ranking"))
    brand = str(ranking.value["Brand"].iloc[1])
    at.session_state[ranking.key] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    # The click switched to the Conversations page, with the figure in the address.
    assert at.title[0].value == "Conversations"
    assert at.query_params["drill_brand"] == brand
    metric = at.query_params["drill"]
    n = int(scorecard(conversations, SETTINGS).set_index("brand").loc[brand, f"{metric}_n"])
    assert any(f"**{n:,}** of {n:,} conversations match" in m.value for m in at.markdown)
