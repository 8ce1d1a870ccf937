"""Topics of care requests, the themes the taxonomy misses, and the per-brand topic table."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.benchmark.pipeline import analyse_store
from carebench.benchmark.topics import (
    OTHER,
    TOPICS,
    discover_themes,
    topic_of_texts,
    topic_table,
)
from carebench.cli import app
from tests.conftest import head_sample_store

runner = CliRunner()


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = head_sample_store(tmp_path_factory, "topics")
    return path, analyse_store(path)


# Real care requests of the TWCS head sample, read by hand (conversation id -> topic).
PINNED = {
    "twcs:1695": "delivery",  # "my order hasn't arrived (it was due 14th October)"
    "twcs:646": "delivery",  # "Item has not been delivered but tracking says..."
    "twcs:7011": "billing",  # "y'all charged my account 8 times"
    "twcs:982": "billing",  # "tired of getting charged for equipment that was returned"
    "twcs:3674": "outage/connectivity",  # "Internet down, again. 7th time this month"
    "twcs:5108": "outage/connectivity",  # "internet has been down for almost 30 mins"
    "twcs:5055": "account/login",  # "my Executive Club account has been hacked"
    "twcs:2717": "account/login",  # "It gets disabled every time I try to login"
    "twcs:2207": "product fault",  # "gave me food poisoning"
    "twcs:63": "app/website",  # "fix your app it won't even open"
    "twcs:3196": "staff/store",  # "Gate agents are terribly and not helpful at all"
    "twcs:308": "refund/return",  # "cancel my reservation and refund me over AUD1700"
}


@pytest.mark.realdata
def test_real_care_requests_get_the_topic_a_reader_gives_them(head):
    _, analysis = head
    c = analysis.conversations.set_index("conversation_id")
    assert {cid: c.loc[cid, "topic"] for cid in PINNED} == PINNED


@pytest.mark.realdata
def test_only_care_requests_have_a_topic_and_every_care_request_has_one(head):
    _, analysis = head
    c = analysis.conversations
    care = c["care_request"].to_numpy(dtype=bool)
    assert (c.loc[~care, "topic"] == "").all()
    assert c.loc[care, "topic"].isin(TOPICS).all()
    # The taxonomy names most care requests of a real sample, not a sliver of them.
    assert (c.loc[care, "topic"] != OTHER).mean() > 0.4


def test_the_topic_named_first_wins():
    texts = pd.Series(
        [
            "I want a refund for my late parcel",
            "my parcel is late and I want a refund",
            "can't log in to the app",
            "the app won't let me log in",
            "love you guys",
            None,
        ]
    )
    assert topic_of_texts(texts).tolist() == [
        "refund/return",
        "delivery",
        "account/login",
        "app/website",
        "",
        "",
    ]


def test_words_inside_other_words_are_not_topics():
    # "bill" in "billion", "app" in "happy", "store" in "restore", "site" in "visited".
    texts = pd.Series(["a billion thanks", "so happy today", "restore it", "we visited"])
    assert topic_of_texts(texts).tolist() == ["", "", "", ""]


def test_online_stores_are_not_staff_and_store():
    texts = pd.Series(["bought it on the Xbox store, where is it?", "rude staff at your store"])
    assert topic_of_texts(texts).tolist() == ["app/website", "staff/store"]


PLANTED = {
    "luggage": ["suitcase", "baggage", "carousel", "luggage", "bags"],
    "loyalty": ["points", "miles", "loyalty", "rewards", "tier"],
    "giftcard": ["gift", "card", "voucher", "balance", "redeem"],
}
FILLER = "so the my this is was it and very today again still why what when my".split()  # noqa: SIM905


def test_discovery_finds_planted_themes():
    rng = random.Random(7)
    texts, truth = [], []
    for theme, words in PLANTED.items():
        for _ in range(120):
            picked = rng.sample(words, 3) + rng.sample(FILLER, 5)
            rng.shuffle(picked)
            texts.append(" ".join(picked))
            truth.append(theme)
    found = discover_themes(pd.Series(texts), themes=3, seed=1)
    assert len(found) == 3
    for theme, words in PLANTED.items():
        # Some discovered theme is made of this planted theme's words...
        best = max(found["terms"], key=lambda t: len(set(t.split(", ")) & set(words)))
        assert len(set(best.split(", ")) & set(words)) >= 3, (theme, list(found["terms"]))
    # ...and its examples come from that theme.
    for examples in found["examples"]:
        themes = {truth[texts.index(text)] for text in examples}
        assert len(themes) == 1


def test_discovery_needs_enough_texts():
    assert discover_themes(pd.Series(["too few"] * 10)).empty


def _conversations(rows: list[tuple[str, int, str, bool, float, bool, str]]) -> pd.DataFrame:
    start = datetime(2017, 10, 2, 9, tzinfo=UTC)  # a Monday
    return pd.DataFrame(
        {
            "brand": [r[0] for r in rows],
            "opened_at": pd.to_datetime([start + timedelta(weeks=r[1]) for r in rows]),
            "topic": pd.array([r[2] for r in rows], dtype="string"),
            "care_request": [True] * len(rows),
            "answered": [r[3] for r in rows],
            "ttfr_seconds": [r[4] for r in rows],
            "deflected": [r[5] for r in rows],
            "outcome": [r[6] for r in rows],
        }
    )


def test_topic_table_counts_shares_and_how_each_topic_fares():
    rows = [
        ("B", 0, "delivery", True, 600.0, True, "unknown"),
        ("B", 0, "delivery", True, 1200.0, False, "resolved"),
        ("B", 0, "billing", False, float("nan"), False, "unanswered"),
        ("B", 0, "other", True, 60.0, False, "resolved"),
    ]
    table = topic_table(_conversations(rows), "week")
    delivery = table[table["topic"] == "delivery"].iloc[0]
    assert delivery["care_requests"] == 2
    assert delivery["share"] == 0.5
    assert delivery["answered"] == 2
    assert delivery["ttfr_median_minutes"] == 15.0
    assert delivery["deflection_rate"] == 0.5
    assert delivery["resolution_rate"] == 0.5
    billing = table[table["topic"] == "billing"].iloc[0]
    assert billing["answered"] == 0 and pd.isna(billing["resolution_rate"])
    assert table.groupby(["brand", "period"])["share"].sum().round(6).eq(1).all()


def test_a_topic_recurs_when_it_comes_back_week_after_week():
    rows = [("B", week, "delivery", True, 60.0, False, "resolved") for week in range(4)]
    rows += [("B", 0, "billing", True, 60.0, False, "resolved")]
    rows += [("B", week, "other", True, 60.0, False, "resolved") for week in range(4)]
    table = topic_table(_conversations(rows), None)
    recurring = dict(zip(table["topic"], table["recurring"], strict=True))
    # Delivery in 4 of 4 weeks recurs; billing once does not; "other" never does.
    assert recurring == {"delivery": True, "other": False, "billing": False}


@pytest.mark.realdata
def test_export_topics_and_themes_and_the_conversations_topic_column(head, tmp_path):
    path, analysis = head
    topics = tmp_path / "topics.csv"
    result = runner.invoke(app, ["export", "topics", "--db", str(path), "-o", str(topics)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(topics)
    care = analysis.conversations[analysis.conversations["care_request"]]
    assert table["care_requests"].sum() == len(care)
    amazon = table[(table["brand"] == "AmazonHelp") & (table["topic"] == "delivery")]
    assert (
        amazon["care_requests"].sum()
        == ((care["brand"] == "AmazonHelp") & (care["topic"] == "delivery")).sum()
    )
    themes = tmp_path / "themes.csv"
    result = runner.invoke(app, ["export", "themes", "--db", str(path), "-o", str(themes)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(themes)) >= 2
    conversations = tmp_path / "conversations.csv"
    runner.invoke(app, ["export", "conversations", "--db", str(path), "-o", str(conversations)])
    exported = pd.read_csv(conversations, keep_default_na=False)
    assert exported["topic"].tolist()[:50] == analysis.conversations["topic"].tolist()[:50]
